// Bucket policies, the public access block, policy status and ownership controls.
import { parsePolicy, PolicyError } from '../../iam/policy/document.js';
import { OWNERSHIPS, type ObjectOwnership } from '../acl/for-write.js';
import type { PublicAccessBlock } from '../bucket-access.js';
import { bucketOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { isPublicPolicy } from '../policy-status.js';
import { sendEmpty, sendXml } from '../respond.js';
import { childText, childrenNamed, el, parseBody } from '../xml.js';

const MAX_POLICY_BYTES = 20 * 1024;
const MAX_CONFIG_BODY = 16 * 1024;
const PAB_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

async function accessOf(ctx: OpContext) {
  const bucket = bucketOf(ctx);
  const view = await ctx.core.bucketAccess.get(bucket);
  if (!view) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  return { bucket, view };
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** A wildcard resource that takes in this bucket or its objects ("arn:aws:s3:::*", "arn:aws:s3:::*\/*"). */
function coversBucket(arn: string, bucket: string): boolean {
  if (!/[*?]/.test(arn)) return false;
  return [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/`, `arn:aws:s3:::${bucket}/x`].some((s) => globMatches(arn, s));
}

/** `*` and `?` wildcards, matched in time proportional to pattern × text (a regular expression
 * could backtrack exponentially on a crafted pattern). */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A bucket policy speaks of its own bucket only, as S3 requires. */
function checkResources(text: string, bucket: string): void {
  const doc = JSON.parse(text) as { Statement?: unknown };
  for (const st of list(doc.Statement) as Record<string, unknown>[]) {
    for (const r of list(st.Resource ?? st.NotResource)) {
      const arn = String(r);
      if (arn !== `arn:aws:s3:::${bucket}` && !arn.startsWith(`arn:aws:s3:::${bucket}/`) && arn !== '*' && !coversBucket(arn, bucket)) {
        throw new S3Error('MalformedPolicy', `Policy has invalid resource: ${arn.slice(0, 200)} is not bucket ${bucket} or an object in it.`);
      }
    }
  }
}

export async function putBucketPolicy(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  const text = (await ctx.body.readAll(MAX_POLICY_BYTES)).toString('utf8');
  try {
    parsePolicy(text, 'resource');
  } catch (err) {
    if (err instanceof PolicyError) throw new S3Error('MalformedPolicy', err.message);
    throw err;
  }
  checkResources(text, bucket);
  // Judged on the record as it is now, not as cached: a block put a moment ago binds.
  await ctx.core.bucketAccess.update(bucket, (r) => {
    if (r.publicAccessBlock?.BlockPublicPolicy && isPublicPolicy(text)) {
      throw new S3Error('AccessDenied', 'The bucket\'s public access block (BlockPublicPolicy) refuses a policy that makes it public.');
    }
    return { ...r, policy: text };
  });
  sendEmpty(ctx.res, 204);
}

export async function getBucketPolicy(ctx: OpContext): Promise<void> {
  const { bucket, view } = await accessOf(ctx);
  if (view.record.policy === undefined) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket });
  const body = Buffer.from(view.record.policy);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  ctx.res.end(body);
}

export async function deleteBucketPolicy(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  await ctx.core.bucketAccess.update(bucket, ({ policy: _gone, ...rest }) => rest);
  sendEmpty(ctx.res, 204);
}

export async function getBucketPolicyStatus(ctx: OpContext): Promise<void> {
  const { bucket, view } = await accessOf(ctx);
  if (view.record.policy === undefined) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket });
  sendXml(ctx.res, 200, el('PolicyStatus', el('IsPublic', isPublicPolicy(view.record.policy))));
}

export async function putPublicAccessBlock(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  const root = parseBody(await ctx.body.readAll(MAX_CONFIG_BODY), 'PublicAccessBlockConfiguration');
  const config = {} as PublicAccessBlock;
  for (const f of PAB_FIELDS) {
    const v = childText(root, f)?.trim().toLowerCase();
    if (v !== undefined && v !== 'true' && v !== 'false') throw new S3Error('MalformedXML', `${f} must be true or false.`);
    config[f] = v === 'true';
  }
  await ctx.core.bucketAccess.update(bucket, (r) => ({ ...r, publicAccessBlock: config }));
  sendEmpty(ctx.res, 200);
}

export async function getPublicAccessBlock(ctx: OpContext): Promise<void> {
  const { bucket, view } = await accessOf(ctx);
  const config = view.record.publicAccessBlock;
  if (!config) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { BucketName: bucket });
  sendXml(ctx.res, 200, el('PublicAccessBlockConfiguration', PAB_FIELDS.map((f) => el(f, config[f]))));
}

export async function deletePublicAccessBlock(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  await ctx.core.bucketAccess.update(bucket, ({ publicAccessBlock: _gone, ...rest }) => rest);
  sendEmpty(ctx.res, 204);
}

export async function getOwnershipControls(ctx: OpContext): Promise<void> {
  const { bucket, view } = await accessOf(ctx);
  const ownership = view.record.ownership;
  if (ownership === undefined) throw new S3Error('OwnershipControlsNotFoundError', undefined, { BucketName: bucket });
  sendXml(ctx.res, 200, el('OwnershipControls', el('Rule', el('ObjectOwnership', ownership))));
}

export async function putOwnershipControls(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  const root = parseBody(await ctx.body.readAll(MAX_CONFIG_BODY), 'OwnershipControls');
  const rule = childrenNamed(root, 'Rule')[0];
  const ownership = parseOwnership(rule ? childText(rule, 'ObjectOwnership')?.trim() : undefined, 'MalformedXML');
  await ctx.core.bucketAccess.update(bucket, (r) => ({ ...r, ownership }));
  sendEmpty(ctx.res, 200);
}

export async function deleteOwnershipControls(ctx: OpContext): Promise<void> {
  const { bucket } = await accessOf(ctx);
  await ctx.core.bucketAccess.update(bucket, ({ ownership: _gone, ...rest }) => rest);
  sendEmpty(ctx.res, 204);
}

export function parseOwnership(value: string | undefined, code: string): ObjectOwnership {
  if (!OWNERSHIPS.includes(value as ObjectOwnership)) throw new S3Error(code, `Object ownership must be one of ${OWNERSHIPS.join(', ')}, not "${String(value).slice(0, 40)}".`);
  return value as ObjectOwnership;
}
