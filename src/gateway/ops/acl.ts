// Access control lists, read-only: every bucket and object belongs to the one owner, with full
// control. Tools that read an ACL before acting get the answer S3 gives such an object.
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { sendXml } from '../respond.js';
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
