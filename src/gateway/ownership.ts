// Object ownership is "BucketOwnerEnforced" on every bucket, AWS's default for new buckets since
// 2023: ACLs are disabled, the bucket owner owns every object in it, and access is granted by
// policies only. A request that sets an ACL other than the owner's full control is refused as
// AWS refuses it, never ignored (a client asking for public-read must not believe it got it).
import type { OpContext } from './context.js';
import { S3Error } from './errors.js';

const HARMLESS = new Set(['private', 'bucket-owner-full-control']);

/** A canned ACL that grants nothing beyond the owner's own control (accepted as a no-op). */
export function isOwnerOnlyAcl(acl: string): boolean {
  return HARMLESS.has(acl);
}

const GRANTS = ['x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control'];

export function refuseAcl(ctx: OpContext): void {
  const acl = ctx.req.headers['x-amz-acl'];
  const grant = GRANTS.find((g) => ctx.req.headers[g] !== undefined);
  const creatingBucket = ctx.req.key === null && !ctx.req.query.has('acl');
  if ((typeof acl === 'string' && !HARMLESS.has(acl)) || grant !== undefined) {
    if (creatingBucket) throw new S3Error('InvalidBucketAclWithObjectOwnership', `Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting (${grant ?? `x-amz-acl: ${String(acl).slice(0, 40)}`}); grant access with a bucket policy.`);
    throw new S3Error('AccessControlListNotSupported', `The bucket does not allow ACLs (${grant ?? `x-amz-acl: ${String(acl).slice(0, 40)}`}); grant access with a bucket policy.`);
  }
}
