// Object tagging: the tag set lives in the object's record, next to its other metadata. Bucket
// tagging: in an xattr of the bucket's directory.
import { errorCode } from '../../errors/errno.js';
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { recordWith } from '../record.js';
import { sendEmpty, sendXml } from '../respond.js';
import { MAX_BUCKET_TAGS, tagsFromXml, tagsToXml, type TagSet } from '../tags.js';
import { parseBody } from '../xml.js';

const MAX_TAGGING_BODY = 64 * 1024;

export async function getObjectTagging(ctx: OpContext): Promise<void> {
  const { info } = await ctx.core.objects.find(targetOf(ctx));
  sendXml(ctx.res, 200, tagsToXml(info.tags));
}

export async function putObjectTagging(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const tags = tagsFromXml(parseBody(await ctx.body.readAll(MAX_TAGGING_BODY), 'Tagging'));
  const found = await ctx.core.objects.find(t);
  const event = { name: 's3:ObjectTagging:Put', bucket: t.bucket, key: t.key };
  await ctx.core.objects.rewriteRecord(found, recordWith(found.info, { tags }), await ctx.queued(event));
  ctx.events.push({ ...event, queued: true });
  sendEmpty(ctx.res, 200);
}

export async function deleteObjectTagging(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  const found = await ctx.core.objects.find(t);
  const event = { name: 's3:ObjectTagging:Delete', bucket: t.bucket, key: t.key };
  await ctx.core.objects.rewriteRecord(found, recordWith(found.info, { tags: [] }), await ctx.queued(event));
  ctx.events.push({ ...event, queued: true });
  sendEmpty(ctx.res, 204);
}

const BUCKET_TAGS_XATTR = 'user.s3.bucket-tags';

export async function getBucketTagging(ctx: OpContext): Promise<void> {
  const dir = await ctx.core.buckets.get(bucketOf(ctx));
  const { vfs, caller } = ctx.core.gv.system;
  const raw = await vfs.getxattr(caller, dir.ino, BUCKET_TAGS_XATTR).catch((err: unknown) => {
    if (errorCode(err) === 'ENODATA') return null;
    throw err;
  });
  if (raw === null) throw new S3Error('NoSuchTagSet', 'The TagSet does not exist.', { BucketName: bucketOf(ctx) });
  sendXml(ctx.res, 200, tagsToXml(JSON.parse(Buffer.from(raw).toString('utf8')) as TagSet));
}

export async function putBucketTagging(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const tags = tagsFromXml(parseBody(await ctx.body.readAll(MAX_TAGGING_BODY), 'Tagging'), MAX_BUCKET_TAGS);
  const dir = await ctx.core.buckets.get(bucket);
  const { vfs, caller } = ctx.core.gv.system;
  await vfs.setxattr(caller, dir.ino, BUCKET_TAGS_XATTR, Buffer.from(JSON.stringify(tags)));
  sendEmpty(ctx.res, 204);
}

export async function deleteBucketTagging(ctx: OpContext): Promise<void> {
  const dir = await ctx.core.buckets.get(bucketOf(ctx));
  const { vfs, caller } = ctx.core.gv.system;
  await vfs.removexattr(caller, dir.ino, BUCKET_TAGS_XATTR).catch((err: unknown) => {
    if (errorCode(err) !== 'ENODATA') throw err;
  });
  sendEmpty(ctx.res, 204);
}
