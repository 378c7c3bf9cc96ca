// DeleteObject and DeleteObjects. Deleting a key with nothing there succeeds, as in S3.
import { bucketOf, targetOf, type OpContext } from '../context.js';
import { S3Error, fromCoreError } from '../errors.js';
import { objectTarget, type ObjectTarget } from '../objects.js';
import { sendEmpty, sendXml } from '../respond.js';
import { header } from '../request.js';
import { etagMatches } from '../conditions.js';
import { childText, childrenNamed, el, parseBody, type XmlElement } from '../xml.js';

const MAX_DELETE_KEYS = 1000;
const MAX_DELETE_BODY = 2 * 1024 * 1024;

export async function deleteObject(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  await ctx.core.buckets.get(t.bucket);
  const ifMatch = header(ctx.req, 'if-match');
  if (ifMatch !== undefined) {
    const found = await ctx.core.objects.find(t);
    if (!etagMatches(ifMatch, found.info.etag)) throw new S3Error('PreconditionFailed', 'The object\'s ETag does not match If-Match.', { Condition: 'If-Match' });
  }
  await deleteWithEvent(ctx, t);
  sendEmpty(ctx.res, 204);
}

/** DeleteObject of a version other than "null" on a volume that never versions: no such version,
 * so nothing is deleted — S3 answers that with success, naming the version asked for. */
export async function deleteNoVersion(ctx: OpContext): Promise<void> {
  const t = targetOf(ctx);
  await ctx.core.buckets.get(t.bucket);
  sendEmpty(ctx.res, 204, { 'x-amz-version-id': ctx.req.query.get('versionId')! });
}

/** Delete what `t` names, its events committed with the deletion (a folder object's with its
 * record's removal: its directory may stay, holding other keys). */
async function deleteWithEvent(ctx: OpContext, t: ObjectTarget): Promise<void> {
  const event = { name: 's3:ObjectRemoved:Delete', bucket: t.bucket, key: t.key };
  if (await ctx.core.objects.delete(t, await ctx.queued(event))) ctx.events.push({ ...event, queued: true });
}

export async function deleteObjects(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const root = parseBody(await ctx.body.readAll(MAX_DELETE_BODY), 'Delete');
  const quiet = childText(root, 'Quiet')?.trim().toLowerCase() === 'true';
  const objects = childrenNamed(root, 'Object');
  if (objects.length === 0) throw new S3Error('MalformedXML', 'A Delete document lists at least one <Object>.');
  if (objects.length > MAX_DELETE_KEYS) throw new S3Error('MalformedXML', `A Delete document lists at most ${MAX_DELETE_KEYS} objects; this one lists ${objects.length}.`);
  const keys = objects.map((o) => {
    const key = childText(o, 'Key');
    if (key === undefined) throw new S3Error('MalformedXML', 'Every <Object> needs a <Key>.');
    return { key, version: childText(o, 'VersionId') };
  });
  await ctx.core.buckets.get(bucket);
  const results: XmlElement[] = [];
  for (const { key, version } of keys) {
    try {
      // Only the "null" version exists on a volume that never versions.
      if (version !== undefined && version !== 'null') throw new S3Error('NoSuchVersion', undefined, { Key: key });
      const t = objectTarget(bucket, key);
      // Each key is authorized on its own, as S3 does: a policy may allow deleting some keys only.
      await ctx.authorize('s3:DeleteObject', bucket, key, true);
      await deleteWithEvent(ctx, t);
      if (!quiet) results.push(el('Deleted', el('Key', key)));
    } catch (err) {
      const e = fromCoreError(err);
      results.push(el('Error', [el('Key', key), ...(version !== undefined ? [el('VersionId', version)] : []), el('Code', e.code), el('Message', e.message)]));
    }
  }
  sendXml(ctx.res, 200, el('DeleteResult', results));
}
