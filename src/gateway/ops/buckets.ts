// Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
// GetBucketVersioning (never enabled: the document S3 gives such a bucket).
import { bucketOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { isoTime, sendEmpty, sendXml } from '../respond.js';
import { childText, el, parseBody } from '../xml.js';

const MAX_CONFIG_BODY = 64 * 1024;

export async function listBuckets(ctx: OpContext): Promise<void> {
  const buckets = await ctx.core.buckets.list();
  const { owner } = ctx.core;
  sendXml(ctx.res, 200, el('ListAllMyBucketsResult',
    el('Owner', el('ID', owner.id), el('DisplayName', owner.displayName)),
    el('Buckets', buckets.map((b) => el('Bucket', el('Name', b.name), el('CreationDate', isoTime(b.created.getTime()))))),
  ));
}

export async function createBucket(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  if (!ctx.body.empty) {
    // CreateBucketConfiguration: only a LocationConstraint, which must be this gateway's region.
    const root = parseBody(await ctx.body.readAll(MAX_CONFIG_BODY), 'CreateBucketConfiguration');
    const where = childText(root, 'LocationConstraint')?.trim();
    if (where !== undefined && where !== '' && where !== ctx.core.region) {
      throw new S3Error('InvalidLocationConstraint', `This gateway serves region "${ctx.core.region}", not "${where}".`);
    }
  }
  await ctx.core.buckets.create(bucket);
  ctx.events.push({ name: 's3:BucketCreated', bucket });
  sendEmpty(ctx.res, 200, { Location: `/${bucket}` });
}

export async function deleteBucket(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await ctx.core.buckets.delete(bucket);
  // Uploads in progress into the bucket cannot complete any more.
  await ctx.core.uploads.abortAllIn(bucket);
  ctx.events.push({ name: 's3:BucketRemoved', bucket });
  sendEmpty(ctx.res, 204);
}

export async function headBucket(ctx: OpContext): Promise<void> {
  await ctx.core.buckets.get(bucketOf(ctx));
  sendEmpty(ctx.res, 200, { 'x-amz-bucket-region': ctx.core.region });
}

export async function getBucketLocation(ctx: OpContext): Promise<void> {
  await ctx.core.buckets.get(bucketOf(ctx));
  // us-east-1 is written as an empty constraint, as S3 does.
  sendXml(ctx.res, 200, el('LocationConstraint', ctx.core.region === 'us-east-1' ? null : ctx.core.region));
}

export async function getBucketVersioning(ctx: OpContext): Promise<void> {
  await ctx.core.buckets.get(bucketOf(ctx));
  sendXml(ctx.res, 200, el('VersioningConfiguration'));
}
