// The condition keys a request brings to policy evaluation (names lowercased; a tag key in a key
// name keeps its case, as tags are case-sensitive). Keys the request does not have are absent,
// which is what the ...IfExists and Null operators test.
import type { Identity } from './auth.js';
import type { IpRange } from '../iam/policy/ip-address.js';
import { clientAddress } from './client-address.js';
import type { S3Request } from './request.js';

export type ConditionContext = Record<string, string | string[] | undefined>;

const PRINCIPAL_TYPE: Record<Identity['kind'], string> = {
  root: 'Account', user: 'User', 'service-account': 'User', session: 'AssumedRole', anonymous: 'Anonymous',
};

export function conditionContext(identity: Identity, action: string, req: S3Request | undefined, nowMs: number, proxies: readonly IpRange[] = []): ConditionContext {
  const from = clientAddress(req, proxies);
  const ctx: ConditionContext = {
    'aws:currenttime': new Date(nowMs).toISOString(),
    'aws:epochtime': String(Math.floor(nowMs / 1000)),
    'aws:securetransport': String(from.secure),
    'aws:sourceip': from.sourceIp,
    'aws:principaltype': PRINCIPAL_TYPE[identity.kind],
  };
  if (identity.user !== null) {
    ctx['aws:username'] = identity.user;
    ctx['aws:userid'] = identity.userId ?? undefined;
  } else if (identity.kind === 'root') {
    ctx['aws:userid'] = identity.userId ?? undefined;
  }
  if (identity.arn !== null) ctx['aws:principalarn'] = identity.arn;
  if (identity.kind !== 'anonymous' && identity.kind !== 'root') ctx['aws:principalaccount'] = identity.arn?.split(':')[4];
  if (req === undefined) return ctx;
  const h = req.headers;
  if (typeof h['user-agent'] === 'string') ctx['aws:useragent'] = h['user-agent'];
  if (typeof h.referer === 'string') ctx['aws:referer'] = h.referer;
  if (action === 's3:ListBucket' || action === 's3:ListBucketVersions') {
    for (const name of ['prefix', 'delimiter', 'max-keys']) {
      const v = req.query.get(name);
      if (v !== undefined) ctx[`s3:${name}`] = v;
    }
  }
  // A form upload's ACL and tags come from its fields (the operation supplies those keys): the
  // request's own headers say nothing of the object.
  const form = req.method === 'POST' && /^multipart\/form-data/i.test(String(h['content-type'] ?? ''));
  if (form) return ctx;
  for (const name of ['x-amz-acl', 'x-amz-copy-source', 'x-amz-metadata-directive', 'x-amz-content-sha256', 'x-amz-storage-class',
    'x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control']) {
    const v = h[name];
    if (typeof v === 'string') ctx[`s3:${name}`] = v;
  }
  const tagging = h['x-amz-tagging'];
  if (typeof tagging === 'string') {
    const keys: string[] = [];
    for (const [k, v] of new URLSearchParams(tagging)) {
      ctx[`s3:requestobjecttag/${k}`] = v;
      keys.push(k);
    }
    ctx['s3:requestobjecttagkeys'] = keys;
  }
  return ctx;
}

/** Adds s3:ExistingObjectTag/<key> for each tag the object has. */
export function addExistingTags(ctx: ConditionContext, tags: readonly (readonly [string, string])[]): void {
  for (const [k, v] of tags) ctx[`s3:existingobjecttag/${k}`] = v;
}
