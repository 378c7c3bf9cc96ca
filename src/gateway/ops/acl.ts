// Get/PutBucketAcl and Get/PutObjectAcl. A bucket's ACL lives in its access record, an object's in
// its record; without one, the owner has full control. Under BucketOwnerEnforced only the
// owner's full control may be set (and ACLs are not consulted); BlockPublicAcls refuses public
// grants.
import { bucketOwnerOf, ownerOnly, ownershipOf, refusal } from '../acl/for-write.js';
import { aclFromHeaders, aclFromXml, aclToXml, isPublicAcl, type Acl, type Owner } from '../acl/model.js';
import { canonicalNames } from '../acl/names.js';
import type { BucketAccessRecord, BucketAccessView } from '../bucket-access.js';
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { recordWith } from '../record.js';
import { sendEmpty, sendXml } from '../respond.js';
import { parseBody } from '../xml.js';

const MAX_ACL_BODY = 64 * 1024;

async function viewOf(ctx: OpContext): Promise<BucketAccessView> {
  const bucket = bucketOf(ctx);
  const view = await ctx.core.bucketAccess.get(bucket);
  if (!view) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  return view;
}

const ownerFull = (owner: Owner): Acl => ({ owner, grants: [{ grantee: { id: owner.id, name: owner.name }, permission: 'FULL_CONTROL' }] });

/** Refusals that depend on the bucket's record: judged again on the fresh record when it is
 * written (a block put a moment ago binds). */
function checkAgainst(record: BucketAccessRecord, acl: Acl, bucketOwner: Owner): void {
  if (ownershipOf(record) === 'BucketOwnerEnforced' && !ownerOnly(acl, bucketOwner)) throw refusal(false, 'an ACL other than the owner\'s full control');
  if (isPublicAcl(acl) && record.publicAccessBlock?.BlockPublicAcls) throw new S3Error('AccessDenied', 'The bucket\'s public access block (BlockPublicAcls) refuses a public ACL.');
}

/** The ACL a PutBucketAcl / PutObjectAcl sets: from headers or from the body, not both. */
async function askedAcl(ctx: OpContext, owner: Owner, bucketOwner: Owner, view: BucketAccessView): Promise<Acl> {
  const names = await canonicalNames(ctx.core.iam);
  const fromHeaders = aclFromHeaders(ctx.req.headers, owner, bucketOwner, names);
  let acl: Acl;
  if (fromHeaders && !ctx.body.empty) throw new S3Error('UnexpectedContent', 'This request does not support content alongside ACL headers.');
  if (fromHeaders) acl = fromHeaders;
  else if (!ctx.body.empty) acl = aclFromXml(parseBody(await ctx.body.readAll(MAX_ACL_BODY), 'AccessControlPolicy'), owner, names);
  else throw new S3Error('MissingSecurityHeader', 'Give the ACL in x-amz-acl, x-amz-grant-* headers or an AccessControlPolicy body.', { MissingHeaderName: 'x-amz-acl' });
  checkAgainst(view.record, acl, bucketOwner);
  return acl;
}

export async function getBucketAcl(ctx: OpContext): Promise<void> {
  const view = await viewOf(ctx);
  const owner = bucketOwnerOf(view.record, ctx.core.iam.account);
  sendXml(ctx.res, 200, aclToXml(ownershipOf(view.record) === 'BucketOwnerEnforced' ? ownerFull(owner) : view.record.acl ?? ownerFull(owner)));
}

export async function putBucketAcl(ctx: OpContext): Promise<void> {
  const view = await viewOf(ctx);
  const owner = bucketOwnerOf(view.record, ctx.core.iam.account);
  const acl = await askedAcl(ctx, owner, owner, view);
  await ctx.core.bucketAccess.update(bucketOf(ctx), (r) => {
    checkAgainst(r, acl, owner);
    return { ...r, acl };
  });
  sendEmpty(ctx.res, 200);
}

export async function getObjectAcl(ctx: OpContext): Promise<void> {
  const view = await viewOf(ctx);
  const { info } = await ctx.core.objects.find(targetOf(ctx));
  const owner = bucketOwnerOf(view.record, ctx.core.iam.account);
  sendXml(ctx.res, 200, aclToXml(ownershipOf(view.record) === 'BucketOwnerEnforced' ? ownerFull(owner) : info.acl ?? ownerFull(owner)));
}

export async function putObjectAcl(ctx: OpContext): Promise<void> {
  const view = await viewOf(ctx);
  const found = await ctx.core.objects.find(targetOf(ctx));
  const bucketOwner = bucketOwnerOf(view.record, ctx.core.iam.account);
  const acl = await askedAcl(ctx, found.info.acl?.owner ?? bucketOwner, bucketOwner, view);
  await ctx.core.objects.rewriteRecord(found, recordWith(found.info, { acl }));
  sendEmpty(ctx.res, 200);
}
