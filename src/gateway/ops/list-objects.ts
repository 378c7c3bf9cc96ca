// ListObjects (v1), ListObjectsV2 and ListObjectVersions: prefix, delimiter, max-keys, marker /
// continuation-token / start-after / key-marker, encoding-type=url, fetch-owner. Directories are
// common prefixes; keys come in UTF-8 byte order, paged without repeating or skipping. A volume
// never versions, so each object is its one "null" version, the latest.
import { bucketOwnerOf } from '../acl/for-write.js';
import type { Owner } from '../acl/model.js';
import { isRegular } from '../../vfs/attr.js';
import { bucketOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { decodeToken, encodeToken } from '../tokens.js';
import { compareKeys, walkKeys } from '../listing.js';
import { describeObject } from '../record.js';
import { isoTime, nsToMs, quoteEtag, sendXml } from '../respond.js';
import { el, type XmlElement } from '../xml.js';

const MAX_KEYS = 1000;

interface Listed {
  keys: { key: string; size: number; mtimeNs: bigint; etag: string; owner?: Owner }[];
  prefixes: string[];
  truncated: boolean;
  /** The last key or prefix returned: where the next page starts. */
  last: string | null;
}

function maxKeysOf(ctx: OpContext): number {
  const raw = ctx.req.query.get('max-keys');
  if (raw === undefined) return MAX_KEYS;
  if (!/^\d{1,9}$/.test(raw)) throw new S3Error('InvalidArgument', `max-keys must be a non-negative whole number, got "${raw}".`, { ArgumentName: 'max-keys', ArgumentValue: raw });
  return Math.min(Number(raw), MAX_KEYS);
}

function encodingOf(ctx: OpContext): ((s: string) => string) {
  const enc = ctx.req.query.get('encoding-type');
  if (enc === undefined) return (s) => s;
  if (enc !== 'url') throw new S3Error('InvalidArgument', `Invalid Encoding Method specified in Request: "${enc}" (only "url" is).`, { ArgumentName: 'encoding-type', ArgumentValue: enc });
  // Keys may hold characters XML 1.0 cannot carry; "/" stays readable, as S3 leaves it.
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

async function list(ctx: OpContext, bucket: string, prefix: string, delimiter: string, after: string, max: number): Promise<Listed> {
  const { core } = ctx;
  const root = await core.buckets.get(bucket);
  const out: Listed = { keys: [], prefixes: [], truncated: false, last: null };
  // S3 answers max-keys=0 with nothing, and says so without claiming more is there.
  if (max === 0) return out;
  let lastPrefix: string | null = null;
  for await (const item of walkKeys(core.index, core.gv, root.ino, '', { prefix, after, delimiter })) {
    if (item.kind === 'prefix') {
      if (item.prefix === lastPrefix || compareKeys(item.prefix, after) <= 0) continue;
      if (out.keys.length + out.prefixes.length >= max) {
        out.truncated = true;
        break;
      }
      lastPrefix = item.prefix;
      out.prefixes.push(item.prefix);
      out.last = item.prefix;
      continue;
    }
    const object = await describe(ctx, bucket, item);
    if (!object) continue;
    if (out.keys.length + out.prefixes.length >= max) {
      out.truncated = true;
      break;
    }
    out.keys.push(object);
    out.last = item.key;
  }
  return out;
}

async function describe(ctx: OpContext, bucket: string, item: { key: string; ino: number; dir: boolean; link: boolean }) {
  const { gv } = ctx.core;
  try {
    if (item.dir) {
      const attr = await gv.user.vfs.getattr(item.ino);
      const record = await gv.record(item.ino);
      return { key: item.key, size: 0, mtimeNs: attr.mtimeNs, etag: record?.etag ?? '' };
    }
    // A symlink is the object it points to (when that is a file).
    const attr = item.link ? await gv.resolveIn(bucket, `/${bucket}/${item.key}`) : await gv.user.vfs.getattr(item.ino);
    if (!attr || !isRegular(attr)) return null;
    const info = describeObject(attr, await gv.record(attr.ino));
    return { key: item.key, size: info.size, mtimeNs: info.mtimeNs, etag: info.etag, ...(info.acl ? { owner: info.acl.owner } : {}) };
  } catch {
    // Deleted while being listed: it is simply not there.
    return null;
  }
}

/** Who owns what a listing shows: the object's ACL owner, else the bucket's owner. */
async function ownerFor(ctx: OpContext, bucket: string): Promise<(k: Listed['keys'][number]) => Owner> {
  const view = await ctx.core.bucketAccess.get(bucket);
  const bucketOwner = bucketOwnerOf(view?.record ?? {}, ctx.core.iam.account);
  return (k) => k.owner ?? bucketOwner;
}

async function contents(ctx: OpContext, bucket: string, listed: Listed, encode: (s: string) => string, withOwner: boolean, name = 'Contents', version = false): Promise<XmlElement[]> {
  const owner = await ownerFor(ctx, bucket);
  return listed.keys.map((k) => el(name,
    el('Key', encode(k.key)),
    version ? [el('VersionId', 'null'), el('IsLatest', true)] : null,
    el('LastModified', isoTime(nsToMs(k.mtimeNs))),
    el('ETag', quoteEtag(k.etag)),
    el('Size', k.size),
    withOwner ? el('Owner', el('ID', owner(k).id), el('DisplayName', owner(k).name)) : null,
    el('StorageClass', 'STANDARD'),
  ));
}

function prefixes(listed: Listed, encode: (s: string) => string): XmlElement[] {
  return listed.prefixes.map((p) => el('CommonPrefixes', el('Prefix', encode(p))));
}

export async function listObjectsV1(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const q = ctx.req.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const marker = q.get('marker') ?? '';
  const max = maxKeysOf(ctx);
  const encode = encodingOf(ctx);
  const listed = await list(ctx, bucket, prefix, delimiter, marker, max);
  sendXml(ctx.res, 200, el('ListBucketResult',
    el('Name', bucket),
    el('Prefix', encode(prefix)),
    el('Marker', encode(marker)),
    listed.truncated && listed.last !== null ? el('NextMarker', encode(listed.last)) : null,
    el('MaxKeys', max),
    delimiter ? el('Delimiter', encode(delimiter)) : null,
    el('IsTruncated', listed.truncated),
    q.has('encoding-type') ? el('EncodingType', 'url') : null,
    await contents(ctx, bucket, listed, encode, true),
    prefixes(listed, encode),
  ));
}

/** ListObjectVersions: every object as its only version ("null", the latest); no delete markers. */
export async function listObjectVersions(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const q = ctx.req.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const max = maxKeysOf(ctx);
  const encode = encodingOf(ctx);
  const listed = await list(ctx, bucket, prefix, delimiter, keyMarker, max);
  sendXml(ctx.res, 200, el('ListVersionsResult',
    el('Name', bucket),
    el('Prefix', encode(prefix)),
    el('KeyMarker', encode(keyMarker)),
    el('VersionIdMarker', q.get('version-id-marker') ?? ''),
    listed.truncated && listed.last !== null ? [el('NextKeyMarker', encode(listed.last)), el('NextVersionIdMarker', 'null')] : null,
    el('MaxKeys', max),
    delimiter ? el('Delimiter', encode(delimiter)) : null,
    el('IsTruncated', listed.truncated),
    q.has('encoding-type') ? el('EncodingType', 'url') : null,
    await contents(ctx, bucket, listed, encode, true, 'Version', true),
    prefixes(listed, encode),
  ));
}

/** Tokens of object listings (the prefix of the format since the first release). */
const OBJECT_TOKENS = 'strata1';

export async function listObjectsV2(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const q = ctx.req.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const startAfter = q.get('start-after') ?? '';
  const token = q.get('continuation-token');
  const max = maxKeysOf(ctx);
  const encode = encodingOf(ctx);
  // An empty token is no token (S3 lists from the start and echoes it).
  const fromToken = token !== undefined && token !== '' ? decodeToken(OBJECT_TOKENS, token) : '';
  const after = compareKeys(fromToken, startAfter) > 0 ? fromToken : startAfter;
  const listed = await list(ctx, bucket, prefix, delimiter, after, max);
  sendXml(ctx.res, 200, el('ListBucketResult',
    el('Name', bucket),
    el('Prefix', encode(prefix)),
    delimiter ? el('Delimiter', encode(delimiter)) : null,
    el('MaxKeys', max),
    q.has('encoding-type') ? el('EncodingType', 'url') : null,
    el('KeyCount', listed.keys.length + listed.prefixes.length),
    el('IsTruncated', listed.truncated),
    token !== undefined ? el('ContinuationToken', token) : null,
    listed.truncated && listed.last !== null ? el('NextContinuationToken', encodeToken(OBJECT_TOKENS, listed.last)) : null,
    startAfter ? el('StartAfter', encode(startAfter)) : null,
    await contents(ctx, bucket, listed, encode, q.get('fetch-owner') === 'true'),
    prefixes(listed, encode),
  ));
}
