// Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
// GetBucketVersioning (never enabled: the document S3 gives such a bucket).
import { bucketOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { decodeToken, encodeToken } from '../tokens.js';
import type { BucketInfo } from '../buckets.js';
import { aclFromHeaders, ownerOf } from '../acl/model.js';
import { canonicalNames } from '../acl/names.js';
import { bucketOwnerOf, ownerOnly, ownershipOf, refusal } from '../acl/for-write.js';
import { createdBy, type BucketAccessRecord } from '../bucket-access.js';
import { header } from '../request.js';
import { parseOwnership } from './bucket-policy.js';
import { isoTime, sendEmpty, sendXml } from '../respond.js';
import { childText, el, parseBody } from '../xml.js';

const MAX_CONFIG_BODY = 64 * 1024;

const MAX_BUCKETS = 10_000;
const BUCKET_TOKENS = 'strata-buckets1';

/** ListBuckets, in pages when max-buckets is given: the continuation token carries the last
 * name listed; prefix narrows the list. */
export async function listBuckets(ctx: OpContext): Promise<void> {
  const q = ctx.req.query;
  const rawMax = q.get('max-buckets');
  const max = rawMax === undefined ? MAX_BUCKETS : /^\d{1,5}$/.test(rawMax) ? Number(rawMax) : NaN;
  if (!(max >= 1 && max <= MAX_BUCKETS)) throw new S3Error('InvalidArgument', `max-buckets must be 1 to ${MAX_BUCKETS}, got "${rawMax?.slice(0, 20)}".`, { ArgumentName: 'max-buckets' });
  const token = q.get('continuation-token');
  const after = token !== undefined && token !== '' ? decodeToken(BUCKET_TOKENS, token) : '';
  const prefix = q.get('prefix') ?? '';
  const matching = (await visibleBuckets(ctx)).filter((b) => b.name.startsWith(prefix) && b.name > after);
  const page = matching.slice(0, max);
  const next = matching.length > page.length ? encodeToken(BUCKET_TOKENS, page[page.length - 1]!.name) : null;
  // The list is the caller's: it names the caller as the owner.
  const owner = ownerOf(ctx.identity, ctx.core.iam.account);
  sendXml(ctx.res, 200, el('ListAllMyBucketsResult',
    el('Owner', el('ID', owner.id), el('DisplayName', owner.name)),
    el('Buckets', page.map((b) => el('Bucket', el('Name', b.name), el('CreationDate', isoTime(b.created.getTime())), el('BucketRegion', ctx.core.region)))),
    next !== null ? el('ContinuationToken', next) : null,
    q.has('prefix') ? el('Prefix', prefix) : null,
  ));
}

/** Every bucket for root and for those a policy allows s3:ListAllMyBuckets; otherwise the
 * buckets the caller owns. Anonymous callers list nothing. */
async function visibleBuckets(ctx: OpContext): Promise<BucketInfo[]> {
  const id = ctx.identity;
  if (id.kind === 'anonymous') throw new S3Error('AccessDenied', 'Anonymous users cannot list buckets.');
  const all = await ctx.core.buckets.list();
  if (await ctx.allowed('s3:ListAllMyBuckets', null, null)) return all;
  const out: BucketInfo[] = [];
  for (const b of all) {
    const view = await ctx.core.bucketAccess.get(b.name);
    if (view && createdBy(view.record, id)) out.push(b);
  }
  return out;
}

/** What a new bucket records: its owner, object ownership and ACL, from who asks and how. */
async function creationRecord(ctx: OpContext): Promise<BucketAccessRecord> {
  const { user, userId, kind } = ctx.identity;
  const record: BucketAccessRecord = user !== null && userId !== null && kind !== 'root' ? { owner: user, ownerId: userId } : {};
  const asked = header(ctx.req, 'x-amz-object-ownership');
  if (asked !== undefined) record.ownership = parseOwnership(asked, 'InvalidArgument');
  const owner = bucketOwnerOf(record, ctx.core.iam.account);
  const acl = aclFromHeaders(ctx.req.headers, owner, owner, await canonicalNames(ctx.core.iam));
  if (acl && ownershipOf(record) === 'BucketOwnerEnforced' && !ownerOnly(acl, owner)) throw refusal(true, 'x-amz-acl / x-amz-grant-*');
  if (acl && ownershipOf(record) !== 'BucketOwnerEnforced') record.acl = acl;
  return record;
}

/** Does the caller own the bucket (root owns those no user created)? */
async function ownsBucket(ctx: OpContext, bucket: string): Promise<boolean> {
  const record = (await ctx.core.bucketAccess.get(bucket))?.record ?? {};
  return record.ownerId === undefined ? ctx.identity.kind === 'root' : createdBy(record, ctx.identity);
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
  const record = await creationRecord(ctx);
  try {
    await ctx.core.buckets.create(bucket, await ctx.queued({ name: 's3:BucketCreated', bucket }));
    // The user who creates a bucket owns it (root owns what has no owner recorded). A bucket
    // whose owner or ACL could not be recorded is removed again rather than left to nobody.
    if (Object.keys(record).length > 0) {
      try {
        await ctx.core.bucketAccess.update(bucket, (r) => ({ ...r, ...record }));
      } catch (err) {
        await ctx.core.buckets.delete(bucket).catch(() => undefined);
        throw err;
      }
    }
    ctx.events.push({ name: 's3:BucketCreated', bucket, queued: true });
  } catch (err) {
    if (!(err instanceof S3Error && err.code === 'BucketAlreadyOwnedByYou')) throw err;
    if (!(await ownsBucket(ctx, bucket))) throw new S3Error('BucketAlreadyExists', undefined, { BucketName: bucket });
    // us-east-1 keeps S3's original answer to re-creating your own bucket: success.
    if (ctx.core.region !== 'us-east-1') throw err;
  }
  sendEmpty(ctx.res, 200, { Location: `/${bucket}` });
}

export async function deleteBucket(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  await ctx.core.buckets.delete(bucket, await ctx.queued({ name: 's3:BucketRemoved', bucket }));
  ctx.core.bucketAccess.forget(bucket);
  ctx.core.notifications.forget(bucket);
  // Uploads in progress into the bucket cannot complete any more.
  await ctx.core.uploads.abortAllIn(bucket);
  ctx.events.push({ name: 's3:BucketRemoved', bucket, queued: true });
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
