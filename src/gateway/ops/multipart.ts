// The multipart operations: CreateMultipartUpload, UploadPart, UploadPartCopy,
// CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
import { requestAcl } from '../acl/for-write.js';
import { ownerOf } from '../acl/model.js';
import type { UploadRecord } from '../multipart.js';
import { createHash } from 'node:crypto';
import { announcedAlgorithm, checkChecksumValue, isChecksumAlgorithm, type ChecksumAlgorithm } from '../checksums.js';
import { copySourceOf, findCopySource } from '../copy-source.js';
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { compareKeys } from '../listing.js';
import { isCrc } from '../crc-combine.js';
import { MAX_PART_NUMBER, multipartEtag, type RequestedPart, type Upload } from '../multipart.js';
import type { ObjectTarget } from '../objects.js';
import { integrityOf, receiveBody } from '../receive.js';
import { headersOf } from '../record.js';
import { header } from '../request.js';
import { isoTime, nsToMs, quoteEtag, sendEmpty, sendXml } from '../respond.js';
import { tagsFromHeader } from '../tags.js';
import { childText, childrenNamed, el, parseBody } from '../xml.js';
import { checksumHeaders, checkWriteConditions, requireLength } from './put-object.js';

/** S3's largest part. */
const MAX_PART_SIZE = 5 * 1024 ** 3;
const MAX_COMPLETE_BODY = 4 * 1024 * 1024;
const MAX_LISTED = 1000;

function uploadIdOf(ctx: OpContext): string {
  const id = ctx.req.query.get('uploadId');
  if (!id) throw new S3Error('InvalidArgument', 'uploadId is required.', { ArgumentName: 'uploadId' });
  return id;
}

function partNumberOf(ctx: OpContext): number {
  const raw = ctx.req.query.get('partNumber') ?? '';
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive; got "${raw.slice(0, 20)}".`, { ArgumentName: 'partNumber', ArgumentValue: raw.slice(0, 20) });
  }
  return n;
}

function limitOf(ctx: OpContext, name: string): number {
  const raw = ctx.req.query.get(name);
  if (raw === undefined) return MAX_LISTED;
  if (!/^\d{1,9}$/.test(raw)) throw new S3Error('InvalidArgument', `${name} must be a non-negative whole number, got "${raw.slice(0, 20)}".`, { ArgumentName: name });
  return Math.min(Number(raw), MAX_LISTED);
}

export async function createMultipartUpload(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const acl = await requestAcl(ctx, t.bucket);
  if (t.kp.directory) throw new S3Error('InvalidRequest', `"${t.key}" ends in "/": it names a directory, which cannot be uploaded in parts.`);
  const { headers, meta } = headersOf(ctx.req);
  const tags = tagsFromHeader(header(ctx.req, 'x-amz-tagging'));
  const checksumAlgorithm = announcedAlgorithm(ctx.req.headers) ?? undefined;
  const asked = header(ctx.req, 'x-amz-checksum-type')?.toUpperCase();
  if (asked !== undefined && asked !== 'COMPOSITE' && asked !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', `x-amz-checksum-type must be COMPOSITE or FULL_OBJECT, got "${asked}".`);
  // As S3: a CRC can be joined into the whole object's (FULL_OBJECT), a SHA only composed of the
  // parts' (COMPOSITE); CRC64NVME is always FULL_OBJECT, the others default to COMPOSITE.
  const type = asked ?? (checksumAlgorithm === 'crc64nvme' ? 'FULL_OBJECT' : checksumAlgorithm ? 'COMPOSITE' : undefined);
  if (type === 'FULL_OBJECT' && checksumAlgorithm && !isCrc(checksumAlgorithm)) {
    throw new S3Error('InvalidRequest', `The FULL_OBJECT checksum type works with CRC32, CRC32C and CRC64NVME, not ${checksumAlgorithm.toUpperCase()}.`);
  }
  if (type === 'COMPOSITE' && checksumAlgorithm === 'crc64nvme') throw new S3Error('InvalidRequest', 'CRC64NVME checksums are FULL_OBJECT only.');
  await checkWriteConditions(ctx, t);
  const initiator = ownerOf(ctx.identity, ctx.core.iam.account);
  const id = await ctx.core.uploads.create(t, { headers, meta, tags, checksumAlgorithm, checksumType: type, initiator, ...(acl ? { acl } : {}) });
  const extra: Record<string, string> = {};
  if (checksumAlgorithm) extra['x-amz-checksum-algorithm'] = checksumAlgorithm.toUpperCase();
  if (type) extra['x-amz-checksum-type'] = type;
  sendXml(ctx.res, 200, el('InitiateMultipartUploadResult', el('Bucket', t.bucket), el('Key', t.key), el('UploadId', id)), extra);
}

export async function uploadPart(ctx: OpContext): Promise<void> {
  const { core, res } = ctx;
  const t = targetOf(ctx);
  const n = partNumberOf(ctx);
  const id = uploadIdOf(ctx);
  const declared = requireLength(ctx);
  if (declared > MAX_PART_SIZE) throw new S3Error('EntityTooLarge', `A part takes at most ${MAX_PART_SIZE} bytes.`, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_PART_SIZE) });
  const integrity = integrityOf(ctx);
  const upload = await core.uploads.get(id, t);
  const { temp, digests: d } = await receiveBody(ctx, integrity, MAX_PART_SIZE);
  try {
    await temp.seal((a) => ({ etag: d.md5, size: a.size, mtimeNs: String(a.mtimeNs), checksums: d.checksums }));
    await core.uploads.putPart(upload, n, temp);
  } catch (err) {
    await temp.discard();
    throw err;
  }
  res.writeHead(200, { ETag: quoteEtag(d.md5), 'Content-Length': '0', ...checksumHeaders(d.checksums) });
  res.end();
}

function copyRange(ctx: OpContext, size: number): { start: number; end: number } {
  const raw = header(ctx.req, 'x-amz-copy-source-range');
  if (raw === undefined) return { start: 0, end: size };
  const m = /^bytes=(\d+)-(\d+)$/.exec(raw.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.', { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: raw.slice(0, 100) });
  }
  const start = Number(m[1]);
  const last = Number(m[2]);
  if (last >= size) throw new S3Error('InvalidRange', `The range ${start}-${last} reaches past the end of the ${size}-byte source.`, { ActualObjectSize: String(size) }, { 'Content-Range': `bytes */${size}` });
  return { start, end: last + 1 };
}

export async function uploadPartCopy(ctx: OpContext): Promise<void> {
  const { core } = ctx;
  const t = targetOf(ctx);
  const n = partNumberOf(ctx);
  const id = uploadIdOf(ctx);
  const src = copySourceOf(ctx);
  const upload = await core.uploads.get(id, t);
  const found = await findCopySource(ctx, src);
  const { start, end } = copyRange(ctx, found.info.size);
  if (end - start > MAX_PART_SIZE) throw new S3Error('EntityTooLarge', `A part takes at most ${MAX_PART_SIZE} bytes.`);
  // The part's bytes are shared, not read: its ETag names the source version and range rather
  // than hashing them (clients only hand part ETags back to CompleteMultipartUpload).
  const etag = createHash('md5').update(`copy:${found.info.etag}:${start}-${end}`).digest('hex');
  const sys = core.gv.system;
  const temp = await core.staging.createTemp();
  try {
    if (end > start) await sys.vfs.cloneRanges(sys.caller, temp.ino, [{ src: found.attr.ino, srcOffset: start, dstOffset: 0, length: end - start }]);
    const attr = await temp.seal((a) => ({ etag, size: a.size, mtimeNs: String(a.mtimeNs) }));
    await core.uploads.putPart(upload, n, temp);
    sendXml(ctx.res, 200, el('CopyPartResult', el('LastModified', isoTime(nsToMs(attr.mtimeNs))), el('ETag', quoteEtag(etag))));
  } catch (err) {
    await temp.discard();
    throw err;
  }
}

/** How many times `needle` occurs in `body`. */
function countOf(body: Buffer, needle: string): number {
  let n = 0;
  for (let at = body.indexOf(needle); at >= 0; at = body.indexOf(needle, at + needle.length)) n++;
  return n;
}

function requestedParts(root: ReturnType<typeof parseBody>): RequestedPart[] {
  return childrenNamed(root, 'Part').map((p) => {
    const raw = childText(p, 'PartNumber')?.trim() ?? '';
    const number = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!(number >= 1 && number <= MAX_PART_NUMBER)) throw new S3Error('MalformedXML', `A <Part> has PartNumber "${raw.slice(0, 20)}"; part numbers are 1 to ${MAX_PART_NUMBER}.`);
    const etagText = childText(p, 'ETag')?.trim();
    if (etagText === undefined) throw new S3Error('MalformedXML', `Part ${number} has no <ETag>.`);
    const etag = etagText.replace(/^"(.*)"$/, '$1').replace(/^&quot;(.*)&quot;$/, '$1');
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const c of p.children) {
      if (!c.name.startsWith('Checksum') || c.name === 'ChecksumType') continue;
      const alg = c.name.slice('Checksum'.length).toLowerCase();
      if (!isChecksumAlgorithm(alg)) throw new S3Error('MalformedXML', `Unknown checksum element <${c.name}>.`);
      checksums[alg] = checkChecksumValue(alg, c.text.trim());
    }
    return { number, etag, checksums };
  });
}

export async function completeMultipartUpload(ctx: OpContext): Promise<void> {
  const { core } = ctx;
  const t = targetOf(ctx);
  const id = uploadIdOf(ctx);
  // Cheap checks first: an unknown upload costs no parsing, and a body listing more parts than
  // an upload can have is refused before the parser spends the event loop's time on it.
  const upload = await core.uploads.get(id, t).catch(async (err: unknown) => {
    // Completed already from this upload (a retry whose first answer was lost)? Judged below.
    const done = await core.objects.lookup(t);
    if (!done || done.info.upload !== id) throw err;
    return { done, err };
  });
  const body = await ctx.body.readAll(MAX_COMPLETE_BODY);
  if (countOf(body, '<Part>') > MAX_PART_NUMBER) {
    throw new S3Error('MalformedXML', `The CompleteMultipartUpload document lists more than ${MAX_PART_NUMBER} parts.`);
  }
  const requested = requestedParts(parseBody(body, 'CompleteMultipartUpload'));
  if ('done' in upload) {
    // The same parts again get the same answer, as S3 gives; other parts find no upload.
    if (multipartEtag(requested.map((p) => p.etag)) !== upload.done.info.etag) throw upload.err;
    sendCompleted(ctx, t, upload.done.info.etag, upload.done.info.checksums, upload.done.info.checksumType);
    return;
  }
  await checkWriteConditions(ctx, t);
  // The client may state the whole object's checksum: S3 checks it against the one it joins.
  const stated = upload.record.checksumAlgorithm ? header(ctx.req, `x-amz-checksum-${upload.record.checksumAlgorithm}`) : undefined;
  const done = await core.uploads.complete(upload, t, requested, stated,
    (d) => ctx.queued({ name: 's3:ObjectCreated:CompleteMultipartUpload', bucket: t.bucket, key: t.key, size: d.size, etag: d.etag }));
  ctx.events.push({ name: 's3:ObjectCreated:CompleteMultipartUpload', bucket: t.bucket, key: t.key, size: done.size, etag: done.etag, queued: true });
  sendCompleted(ctx, t, done.etag, done.checksums, upload.record.checksumType);
}

function sendCompleted(ctx: OpContext, t: ObjectTarget, etag: string, checksums: Partial<Record<ChecksumAlgorithm, string>>, type: string | undefined): void {
  const listed = Object.entries(checksums);
  sendXml(ctx.res, 200, el('CompleteMultipartUploadResult',
    el('Location', `/${t.bucket}/${t.key}`), el('Bucket', t.bucket), el('Key', t.key), el('ETag', quoteEtag(etag)),
    listed.map(([alg, v]) => el(`Checksum${alg.toUpperCase()}`, v)),
    listed.length > 0 && type ? el('ChecksumType', type) : null,
  ));
}

export async function abortMultipartUpload(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const upload = await ctx.core.uploads.get(uploadIdOf(ctx), t);
  await ctx.core.uploads.abort(upload);
  sendEmpty(ctx.res, 204);
}

/** Who started an upload (and owns what it makes); uploads from before this was recorded: root. */
function owner(ctx: OpContext, record: UploadRecord) {
  const o = record.initiator ?? { id: ctx.core.owner.id, name: ctx.core.owner.displayName };
  return [el('Initiator', el('ID', o.id), el('DisplayName', o.name)), el('Owner', el('ID', o.id), el('DisplayName', o.name))];
}

export async function listParts(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const upload = await ctx.core.uploads.get(uploadIdOf(ctx), t);
  const max = limitOf(ctx, 'max-parts');
  const markerRaw = ctx.req.query.get('part-number-marker') ?? '0';
  if (!/^\d{1,5}$/.test(markerRaw)) throw new S3Error('InvalidArgument', `part-number-marker must be a part number, got "${markerRaw.slice(0, 20)}".`);
  const marker = Number(markerRaw);
  const after = (await ctx.core.uploads.parts(upload)).filter((p) => p.number > marker);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  sendXml(ctx.res, 200, el('ListPartsResult',
    el('Bucket', t.bucket), el('Key', t.key), el('UploadId', upload.id),
    ...owner(ctx, upload.record),
    el('StorageClass', 'STANDARD'),
    el('PartNumberMarker', marker),
    page.length > 0 ? el('NextPartNumberMarker', page[page.length - 1].number) : null,
    el('MaxParts', max),
    el('IsTruncated', truncated),
    upload.record.checksumAlgorithm ? el('ChecksumAlgorithm', upload.record.checksumAlgorithm.toUpperCase()) : null,
    page.map((p) => el('Part',
      el('PartNumber', p.number), el('LastModified', isoTime(nsToMs(p.mtimeNs))), el('ETag', quoteEtag(p.etag)), el('Size', p.size),
      Object.entries(p.checksums).map(([alg, v]) => el(`Checksum${alg.toUpperCase()}`, v)),
    )),
  ));
}

export async function listMultipartUploads(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await ctx.core.buckets.get(bucket);
  const q = ctx.req.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const idMarker = q.get('upload-id-marker') ?? '';
  const max = limitOf(ctx, 'max-uploads');
  const all = (await ctx.core.uploads.list(bucket))
    .filter((u) => u.record.key.startsWith(prefix))
    .sort((a, b) => compareKeys(a.record.key, b.record.key) || a.record.initiatedMs - b.record.initiatedMs || (a.id < b.id ? -1 : 1));
  const after = all.filter((u) => {
    const c = compareKeys(u.record.key, keyMarker);
    return c > 0 || (c === 0 && idMarker !== '' && u.id > idMarker);
  });
  const uploads: Upload[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  for (const u of after) {
    const at = delimiter ? u.record.key.indexOf(delimiter, prefix.length) : -1;
    const cp = at >= 0 ? u.record.key.slice(0, at + delimiter.length) : null;
    if (cp !== null && prefixes[prefixes.length - 1] === cp) continue;
    if (uploads.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (cp !== null) prefixes.push(cp);
    else uploads.push(u);
  }
  const last = uploads[uploads.length - 1];
  sendXml(ctx.res, 200, el('ListMultipartUploadsResult',
    el('Bucket', bucket), el('KeyMarker', keyMarker), el('UploadIdMarker', idMarker),
    truncated && last ? el('NextKeyMarker', last.record.key) : null,
    truncated && last ? el('NextUploadIdMarker', last.id) : null,
    prefix ? el('Prefix', prefix) : null,
    delimiter ? el('Delimiter', delimiter) : null,
    el('MaxUploads', max), el('IsTruncated', truncated),
    uploads.map((u) => el('Upload',
      el('Key', u.record.key), el('UploadId', u.id), ...owner(ctx, u.record), el('StorageClass', 'STANDARD'), el('Initiated', isoTime(u.record.initiatedMs)),
      u.record.checksumAlgorithm ? el('ChecksumAlgorithm', u.record.checksumAlgorithm.toUpperCase()) : null,
    )),
    prefixes.map((p) => el('CommonPrefixes', el('Prefix', p))),
  ));
}
