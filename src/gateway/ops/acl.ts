// Access control lists, read-only: ACLs are disabled (see ownership.ts), so every bucket and
// object has the owner's full control. Tools that read an ACL before acting get the answer S3
// gives such an object.
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { refuseAcl } from '../ownership.js';
import { sendEmpty, sendXml } from '../respond.js';
import { el } from '../xml.js';

function policy(ctx: OpContext) {
  const { id, displayName } = ctx.core.owner;
  return el('AccessControlPolicy',
    el('Owner', el('ID', id), el('DisplayName', displayName)),
    el('AccessControlList', el('Grant',
      { name: 'Grantee', attrs: { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:type': 'CanonicalUser' }, children: [el('ID', id), el('DisplayName', displayName)] },
      el('Permission', 'FULL_CONTROL'),
    )),
  );
}

export async function getBucketAcl(ctx: OpContext): Promise<void> {
  await ctx.core.buckets.get(bucketOf(ctx));
  sendXml(ctx.res, 200, policy(ctx));
}

export async function getObjectAcl(ctx: OpContext): Promise<void> {
  await ctx.core.objects.find(targetOf(ctx));
  sendXml(ctx.res, 200, policy(ctx));
}

/** PutBucketAcl / PutObjectAcl: with ACLs disabled (BucketOwnerEnforced), only the owner's full
 * control — the ACL every bucket and object already has — is accepted. */
export async function putAcl(ctx: OpContext): Promise<void> {
  refuseAcl(ctx);
  if (ctx.req.key === null) await ctx.core.buckets.get(bucketOf(ctx));
  else await ctx.core.objects.find(targetOf(ctx));
  const canned = ctx.req.headers['x-amz-acl'];
  if (ctx.body.empty && (canned === 'private' || canned === 'bucket-owner-full-control')) {
    sendEmpty(ctx.res, 200);
    return;
  }
  throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs: object ownership is BucketOwnerEnforced. Grant access with a bucket policy.');
}
