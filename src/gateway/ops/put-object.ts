// PutObject: the body streams into a temp file while its MD5 (the ETag) and any announced
// checksum are computed; only when every byte arrived and verified does the file move to the key.
// A disconnect, a bad signature or a bad digest midway leaves no object and no temp file.
import { requestAcl } from '../acl/for-write.js';
import { etagMatches } from '../conditions.js';
import { targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import type { ObjectTarget } from '../objects.js';
import type { ObjectRecord } from '../record.js';
import type { Digests } from '../integrity.js';
import type { TempFile } from '../staging.js';
import type { Attr } from '../../vfs/attr.js';
import { receiveBody, integrityOf } from '../receive.js';
import { headersOf } from '../record.js';
import { header } from '../request.js';
import { quoteEtag } from '../respond.js';
import { tagsFromHeader } from '../tags.js';

/** What a write records besides the bytes and digests. */
export type Stored = Pick<ObjectRecord, 'headers' | 'meta' | 'tags' | 'acl'>;

/** S3's limit for one PUT; larger objects go through multipart uploads. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

/** If-None-Match: * (create only) and If-Match (replace only that version) on writes. */
export async function checkWriteConditions(ctx: OpContext, t: ObjectTarget): Promise<void> {
  const ifNoneMatch = header(ctx.req, 'if-none-match');
  const ifMatch = header(ctx.req, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return;
  const existing = await ctx.core.objects.lookup(t);
  if (ifNoneMatch !== undefined) {
    // "*": no object may be there; ETags: the object there must not be one of them.
    if (existing && (ifNoneMatch.trim() === '*' || etagMatches(ifNoneMatch, existing.info.etag))) {
      throw new S3Error('PreconditionFailed', `The object at this key matches If-None-Match: ${ifNoneMatch.slice(0, 100)}.`, { Condition: 'If-None-Match' });
    }
  }
  if (ifMatch !== undefined) {
    if (!existing) throw new S3Error('NoSuchKey', undefined, { Key: t.key });
    if (!etagMatches(ifMatch, existing.info.etag)) throw new S3Error('PreconditionFailed', 'The object\'s ETag does not match If-Match.', { Condition: 'If-Match' });
  }
}

/** The body must say how long it is (S3 refuses uploads of unknown length). */
export function requireLength(ctx: OpContext): number {
  const declared = ctx.body.declaredLength();
  if (declared === null && header(ctx.req, 'transfer-encoding') === undefined) throw new S3Error('MissingContentLength');
  return declared ?? -1;
}

export async function putObject(ctx: OpContext): Promise<void> {
  const { req, res, core } = ctx;
  const t = targetOf(ctx);
  const acl = await requestAcl(ctx, t.bucket);
  const { headers, meta } = headersOf(req);
  const tags = tagsFromHeader(header(req, 'x-amz-tagging'));
  const integrity = integrityOf(ctx);
  const declared = requireLength(ctx);
  if (declared > MAX_PUT_SIZE) throw new S3Error('EntityTooLarge', `A single PUT takes at most ${MAX_PUT_SIZE} bytes; use a multipart upload.`, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PUT_SIZE) });
  const bucket = await core.buckets.get(t.bucket);
  await checkWriteConditions(ctx, t);

  if (t.kp.directory) {
    for await (const c of ctx.body.chunks(MAX_PUT_SIZE)) {
      if (c.length > 0) throw new S3Error('InvalidRequest', `"${t.key}" ends in "/": it names a directory, which holds no data. Send an empty body.`);
    }
    const d = await integrity.finish(ctx.body.trailers);
    const event = { name: 's3:ObjectCreated:Put', bucket: t.bucket, key: t.key, size: 0, etag: d.md5 };
    await core.objects.placeDirectory(t, { etag: d.md5, size: 0, mtimeNs: '0', headers, meta, checksums: d.checksums, tags, ...(acl ? { acl } : {}) }, await ctx.queued(event));
    ctx.events.push({ ...event, queued: true });
    res.writeHead(200, { ETag: quoteEtag(d.md5), 'Content-Length': '0', ...checksumHeaders(d.checksums) });
    res.end();
    return;
  }

  if (declared >= 0 && declared <= WHOLE_PUT_MAX && await putWhole(ctx, t, integrity, { headers, meta, tags, acl })) return;

  const { temp, digests: d } = await receiveBody(ctx, integrity, MAX_PUT_SIZE);
  await placeTemp(ctx, t, temp, d, { headers, meta, tags, acl }, bucket);
  answerPut(ctx, t, d);
}

/** Record the object's description on a received temp file and move it to the key. */
export async function placeTemp(ctx: OpContext, t: ObjectTarget, temp: TempFile, d: Digests, r: Stored, bucket?: Attr, eventName = 's3:ObjectCreated:Put'): Promise<void> {
  try {
    await temp.seal((a) => ({ etag: d.md5, size: a.size, mtimeNs: String(a.mtimeNs), checksums: d.checksums, ...r }));
    // Another writer may have created the key while this body came in.
    await checkWriteConditions(ctx, t);
    const events = await ctx.queued({ name: eventName, bucket: t.bucket, key: t.key, size: d.size, etag: d.md5 });
    await ctx.core.objects.place(temp, t, bucket, events);
  } catch (err) {
    await temp.discard();
    throw err;
  }
}

function answerPut(ctx: OpContext, t: ObjectTarget, d: Digests): void {
  ctx.events.push({ name: 's3:ObjectCreated:Put', bucket: t.bucket, key: t.key, size: d.size, etag: d.md5, queued: true });
  ctx.res.writeHead(200, { ETag: quoteEtag(d.md5), 'Content-Length': '0', ...checksumHeaders(d.checksums) });
  ctx.res.end();
}

/** Bodies up to this size are received in memory and, when the key is new, stored with the
 * file's creation and its record in one metadata transaction (instead of temp file, commit,
 * record and rename: four). */
const WHOLE_PUT_MAX = 1024 * 1024;

/**
 * A small PUT onto a key that holds nothing yet: receive and verify the body in memory, then
 * create the object at its key, data and record together. Returns false, having consumed nothing
 * of the volume, when the key turns out to exist (the temp-file path then replaces it).
 */
async function putWhole(ctx: OpContext, t: ObjectTarget, integrity: ReturnType<typeof integrityOf>, r: Stored): Promise<boolean> {
  const { core } = ctx;
  const parts: Buffer[] = [];
  try {
    for await (const chunk of ctx.body.chunks(WHOLE_PUT_MAX)) {
      integrity.update(chunk);
      parts.push(chunk);
      integrity.written([chunk]);
    }
  } catch (err) {
    integrity.abandon();
    throw err;
  }
  const d = await integrity.finish(ctx.body.trailers);
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  await checkWriteConditions(ctx, t);
  const events = await ctx.queued({ name: 's3:ObjectCreated:Put', bucket: t.bucket, key: t.key, size: body.length, etag: d.md5 });
  const created = await core.objects.createWhole(t, body, (timeNs) => ({
    etag: d.md5, size: body.length, mtimeNs: String(timeNs), checksums: d.checksums, ...r,
  }), events);
  if (!created) {
    // Someone's object is there: replace it the ordinary way, from a temp file.
    const temp = await core.staging.createTemp();
    try {
      await temp.append(body);
      await temp.flush();
    } catch (err) {
      await temp.discard();
      throw err;
    }
    await placeTemp(ctx, t, temp, d, r);
  }
  answerPut(ctx, t, d);
  return true;
}

export function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) out[`x-amz-checksum-${alg}`] = value;
  return out;
}
