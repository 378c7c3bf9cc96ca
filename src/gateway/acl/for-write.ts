// Which ACL a write gives what it creates, by the bucket's object ownership: ObjectWriter (the
// writer owns the object, ACLs apply; the default here, as on S3 before 2023 and on Ceph RGW),
// BucketOwnerPreferred (bucket-owner-full-control hands the object to the bucket owner) and
// BucketOwnerEnforced (ACLs disabled: the bucket owner owns everything; an ACL other than the
// owner's full control is refused, never ignored). A public ACL is refused where the public
// access block says BlockPublicAcls.
import type { Identity } from '../auth.js';
import type { BucketAccessRecord } from '../bucket-access.js';
import type { OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { aclFromHeaders, canonicalId, isPublicAcl, ownerOf, type Acl, type CanonicalNames, type Owner } from './model.js';
import { canonicalNames } from './names.js';

export type ObjectOwnership = 'ObjectWriter' | 'BucketOwnerPreferred' | 'BucketOwnerEnforced';
export const OWNERSHIPS: readonly ObjectOwnership[] = ['ObjectWriter', 'BucketOwnerPreferred', 'BucketOwnerEnforced'];

export function ownershipOf(record: BucketAccessRecord): ObjectOwnership {
  return record.ownership ?? 'ObjectWriter';
}

/** The bucket's owner as ACLs name it: its creating user, or the account's root. */
export function bucketOwnerOf(record: BucketAccessRecord, account: string): Owner {
  if (record.ownerId === undefined) return ownerOf({ kind: 'root', userId: null, user: null }, account);
  return { id: canonicalId({ kind: 'user', userId: record.ownerId }, account)!, name: record.owner ?? record.ownerId };
}

/** Only the owner's (and the bucket owner's) full control: what an ACL-less object has anyway. */
export function ownerOnly(acl: Acl, bucketOwner: Owner): boolean {
  return acl.grants.every((g) => g.permission === 'FULL_CONTROL' && 'id' in g.grantee && (g.grantee.id === acl.owner.id || g.grantee.id === bucketOwner.id));
}

export function refusal(creatingBucket: boolean, what: string): S3Error {
  return creatingBucket
    ? new S3Error('InvalidBucketAclWithObjectOwnership', `Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting (${what}); grant access with a bucket policy.`)
    : new S3Error('AccessControlListNotSupported', `The bucket does not allow ACLs (${what}): its object ownership is BucketOwnerEnforced. Grant access with a bucket policy.`);
}

/**
 * The ACL to record on an object written by the caller into a bucket with this access record
 * (from x-amz-acl / x-amz-grant-* in `headers`); undefined: none, the bucket owner owns it.
 */
export function aclForWrite(ctx: OpContext, record: BucketAccessRecord, names: CanonicalNames, headers: Record<string, string | string[] | undefined> = ctx.req.headers, writer: Identity = ctx.identity): Acl | undefined {
  const account = ctx.core.iam.account;
  const bucketOwner = bucketOwnerOf(record, account);
  const writerOwner = ownerOf(writer, account);
  const ownership = ownershipOf(record);
  const asked = aclFromHeaders(headers, writerOwner, bucketOwner, names);
  if (ownership === 'BucketOwnerEnforced') {
    if (asked && !ownerOnly(asked, bucketOwner)) throw refusal(false, headers['x-amz-acl'] !== undefined ? `x-amz-acl: ${String(headers['x-amz-acl']).slice(0, 40)}` : 'x-amz-grant-*');
    return undefined;
  }
  if (asked && isPublicAcl(asked) && record.publicAccessBlock?.BlockPublicAcls) {
    throw new S3Error('AccessDenied', 'The bucket\'s public access block (BlockPublicAcls) refuses a public ACL.');
  }
  if (ownership === 'BucketOwnerPreferred' && headers['x-amz-acl'] === 'bucket-owner-full-control') return undefined;
  if (asked) return asked;
  // No ACL asked for: the writer owns what it wrote, with full control (nothing to record when
  // the writer is the bucket's owner).
  return writerOwner.id === bucketOwner.id ? undefined : { owner: writerOwner, grants: [{ grantee: { id: writerOwner.id, name: writerOwner.name }, permission: 'FULL_CONTROL' }] };
}

/** aclForWrite for the bucket the request names (nothing when there is no such bucket: the
 * operation answers NoSuchBucket). */
export async function requestAcl(ctx: OpContext, bucket: string, headers?: Record<string, string | string[] | undefined>, writer?: Identity): Promise<Acl | undefined> {
  const view = await ctx.core.bucketAccess.get(bucket);
  return view ? aclForWrite(ctx, view.record, await canonicalNames(ctx.core.iam), headers, writer) : undefined;
}
