// Object tagging: the tag set lives in the object's record, next to its other metadata.
import { targetOf, type OpContext } from '../context.js';
import type { FoundObject } from '../objects.js';
import type { ObjectRecord } from '../record.js';
import { sendEmpty, sendXml } from '../respond.js';
import { tagsFromXml, tagsToXml, type TagSet } from '../tags.js';
import { parseBody } from '../xml.js';

const MAX_TAGGING_BODY = 64 * 1024;

/** The record to write back: what was stored, kept as it is, with new tags. */
function withTags(found: FoundObject, tags: TagSet): ObjectRecord {
  const i = found.info;
  // A file the gateway did not write gets a record describing it as it is now.
  return {
    etag: i.etag, size: i.size, mtimeNs: String(i.mtimeNs), headers: i.headers, meta: i.meta,
    checksums: i.checksums, parts: i.parts, tags,
  };
}

export async function getObjectTagging(ctx: OpContext): Promise<void> {
  const { info } = await ctx.core.objects.find(targetOf(ctx));
  sendXml(ctx.res, 200, tagsToXml(info.tags));
}

export async function putObjectTagging(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const tags = tagsFromXml(parseBody(await ctx.body.readAll(MAX_TAGGING_BODY), 'Tagging'));
  const found = await ctx.core.objects.find(t);
  await ctx.core.objects.rewriteRecord(found, withTags(found, tags));
  ctx.events.push({ name: 's3:ObjectTagging:Put', bucket: t.bucket, key: t.key });
  sendEmpty(ctx.res, 200);
}

export async function deleteObjectTagging(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const found = await ctx.core.objects.find(t);
  await ctx.core.objects.rewriteRecord(found, withTags(found, []));
  ctx.events.push({ name: 's3:ObjectTagging:Delete', bucket: t.bucket, key: t.key });
  sendEmpty(ctx.res, 204);
}
