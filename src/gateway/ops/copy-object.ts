// CopyObject: the copy shares the source's slices (no data is copied); its metadata is the
// source's (COPY) or the request's (REPLACE).
import type { QueuedEvent } from '../../meta/meta.js';
import { requestAcl } from '../acl/for-write.js';
import { copySourceOf, findCopySource } from '../copy-source.js';
import { targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import type { FoundObject } from '../objects.js';
import { headersOf, type ObjectRecord } from '../record.js';
import { header } from '../request.js';
import { isoTime, nsToMs, quoteEtag, sendXml } from '../respond.js';
import { tagsFromHeader } from '../tags.js';
import { el } from '../xml.js';
import { checkWriteConditions } from './put-object.js';

function directive(ctx: OpContext, name: string): 'COPY' | 'REPLACE' {
  const v = (header(ctx.req, name) ?? 'COPY').toUpperCase();
  if (v !== 'COPY' && v !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown ${name} "${v}": COPY or REPLACE.`, { ArgumentName: name, ArgumentValue: v });
  return v;
}

export async function copyObject(ctx: OpContext): Promise<void> {
  const { core } = ctx;
  const t = targetOf(ctx);
  // A copy is a new object: it gets the ACL asked for (or its writer's), not the source's.
  const acl = await requestAcl(ctx, t.bucket);
  const src = copySourceOf(ctx);
  const metaDirective = directive(ctx, 'x-amz-metadata-directive');
  const tagDirective = directive(ctx, 'x-amz-tagging-directive');
  if (t.kp.directory || src.kp.directory) throw new S3Error('InvalidRequest', 'Keys ending in "/" name directories, which cannot be copied.');
  const replaced = metaDirective === 'REPLACE' ? headersOf(ctx.req) : null;
  const newTags = tagDirective === 'REPLACE' ? tagsFromHeader(header(ctx.req, 'x-amz-tagging')) ?? [] : null;
  await core.buckets.get(t.bucket);
  const found = await findCopySource(ctx, src);
  const same = src.bucket === t.bucket && src.key === t.key;
  if (same && !replaced && !newTags) {
    throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
  }
  await checkWriteConditions(ctx, t);
  const i = found.info;
  const record = (size: number, mtimeNs: bigint): ObjectRecord => ({
    etag: i.etag, size, mtimeNs: String(mtimeNs),
    headers: replaced?.headers ?? i.headers, meta: replaced?.meta ?? i.meta,
    checksums: i.checksums, checksumType: i.checksumType, parts: i.parts, tags: newTags ?? i.tags, ...(acl ? { acl } : {}),
  });
  let mtimeNs: bigint;
  const event = { name: 's3:ObjectCreated:Copy', bucket: t.bucket, key: t.key, size: i.size, etag: i.etag };
  if (same) {
    // Only the metadata changes: the bytes stay where they are.
    await core.objects.rewriteRecord(found, record(i.size, i.mtimeNs), await ctx.queued(event));
    mtimeNs = i.mtimeNs;
  } else {
    mtimeNs = await cloneInto(ctx, found, (a) => record(a.size, a.mtimeNs), t, await ctx.queued(event));
  }
  ctx.events.push({ ...event, queued: true });
  sendXml(ctx.res, 200, el('CopyObjectResult', el('LastModified', isoTime(nsToMs(mtimeNs))), el('ETag', quoteEtag(i.etag))));
}

/** A new object at `t` sharing all of `found`'s slices; returns its mtime. */
async function cloneInto(ctx: OpContext, found: FoundObject, record: (a: { size: number; mtimeNs: bigint }) => ObjectRecord, t: ReturnType<typeof targetOf>, events: readonly QueuedEvent[]): Promise<bigint> {
  const { core } = ctx;
  const sys = core.gv.system;
  const temp = await core.staging.createTemp();
  try {
    if (found.info.size > 0) {
      await sys.vfs.cloneRanges(sys.caller, temp.ino, [{ src: found.attr.ino, srcOffset: 0, dstOffset: 0, length: found.info.size }]);
    }
    const attr = await temp.seal(record);
    await core.objects.place(temp, t, undefined, events);
    return attr.mtimeNs;
  } catch (err) {
    await temp.discard();
    throw err;
  }
}
