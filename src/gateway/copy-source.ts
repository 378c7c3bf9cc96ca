// x-amz-copy-source ("/bucket/key" or "bucket/key", URL-encoded, with an optional versionId)
// and its conditions, shared by CopyObject and UploadPartCopy.
import { checkCopySource } from './conditions.js';
import type { OpContext } from './context.js';
import { S3Error } from './errors.js';
import { objectTarget, type FoundObject, type ObjectTarget } from './objects.js';
import { header } from './request.js';
import { nsToMs } from './respond.js';

export function copySourceOf(ctx: OpContext): ObjectTarget {
  const raw = header(ctx.req, 'x-amz-copy-source') ?? '';
  const q = raw.indexOf('?');
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  if (q >= 0) {
    const version = new URLSearchParams(raw.slice(q + 1)).get('versionId');
    // Versioning is never enabled here: only the null version exists.
    if (version !== null && version !== 'null') throw new S3Error('NoSuchVersion', `Version "${version}" of the copy source does not exist (versioning is not enabled).`);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid percent-encoded UTF-8.', { ArgumentName: 'x-amz-copy-source' });
  }
  const path = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', { ArgumentName: 'x-amz-copy-source', ArgumentValue: raw.slice(0, 200) });
  }
  return objectTarget(path.slice(0, slash), path.slice(slash + 1));
}

/** Find the source and check the x-amz-copy-source-if-* conditions. */
export async function findCopySource(ctx: OpContext, src: ObjectTarget): Promise<FoundObject> {
  // Copying reads the source: the caller must be allowed that too.
  await ctx.authorize('s3:GetObject', src.bucket, src.key, false);
  const found = await ctx.core.objects.find(src);
  checkCopySource({
    ifMatch: header(ctx.req, 'x-amz-copy-source-if-match'),
    ifNoneMatch: header(ctx.req, 'x-amz-copy-source-if-none-match'),
    ifModifiedSince: header(ctx.req, 'x-amz-copy-source-if-modified-since'),
    ifUnmodifiedSince: header(ctx.req, 'x-amz-copy-source-if-unmodified-since'),
  }, found.info.etag, nsToMs(found.info.mtimeNs));
  return found;
}
