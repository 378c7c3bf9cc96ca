// What S3 knows about an object beyond its bytes — ETag, Content-Type and the other system
// headers, x-amz-meta-* user metadata, checksums, tags — kept in one xattr of the file so that one
// transaction records it. The record notes the size and mtime it describes: a file changed later
// through FUSE or the SDK keeps its headers but gets an ETag derived from its new state.
import { createHash } from 'node:crypto';
import type { Acl } from './acl/model.js';
import type { ChecksumAlgorithm } from './checksums.js';
import { S3Error } from './errors.js';
import { header, type S3Request } from './request.js';

export const RECORD_XATTR = 'user.s3';

/** The system headers S3 stores with an object and returns on GET/HEAD. */
export const STORED_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires', 'x-amz-website-redirect-location'] as const;

export const MAX_USER_METADATA = 2048;

export interface ObjectRecord {
  etag: string;
  size: number;
  /** mtime (ns, decimal) of the file when the record was written. */
  mtimeNs: string;
  headers?: Record<string, string>;
  meta?: Record<string, string>;
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** How a multipart object's checksum was made (a single PUT's is always FULL_OBJECT). */
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** Number of parts of a multipart object. */
  parts?: number;
  /** The multipart upload it was completed from (completing it again answers as the first time). */
  upload?: string;
  /** Sizes of its parts, run-length coded ([size, how many] in order): GET ?partNumber= reads one. */
  partSizes?: [number, number][];
  tags?: [string, string][];
  /** The object's ACL (absent: the bucket owner's full control). */
  acl?: Acl;
}

/** An object as the operations report it. */
export interface ObjectInfo {
  ino: number;
  size: number;
  mtimeNs: bigint;
  etag: string;
  headers: Record<string, string>;
  meta: Record<string, string>;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  checksumType: 'COMPOSITE' | 'FULL_OBJECT';
  parts?: number;
  partSizes?: [number, number][];
  upload?: string;
  tags: [string, string][];
  acl?: Acl;
  /** The record still describes the file's bytes (false: changed outside the gateway). */
  current: boolean;
}

/** Part sizes as ObjectRecord.partSizes keeps them. */
export function runsOf(sizes: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const size of sizes) {
    const last = runs[runs.length - 1];
    if (last && last[0] === size) last[1]++;
    else runs.push([size, 1]);
  }
  return runs;
}

/** Where part `n` (from 1) of an object with these part sizes lies, or null if it has none such. */
export function partRange(runs: readonly [number, number][], n: number): { start: number; end: number } | null {
  let start = 0;
  let first = 1;
  for (const [size, count] of runs) {
    if (n < first + count) {
      const s = start + (n - first) * size;
      return { start: s, end: s + size };
    }
    start += size * count;
    first += count;
  }
  return null;
}

export function encodeRecord(r: ObjectRecord): Buffer {
  return Buffer.from(JSON.stringify(r));
}

export function decodeRecord(raw: Uint8Array | null): ObjectRecord | null {
  if (!raw) return null;
  try {
    const r = JSON.parse(Buffer.from(raw).toString('utf8')) as ObjectRecord;
    return r && typeof r === 'object' && typeof r.etag === 'string' ? r : null;
  } catch {
    // A damaged or foreign value: the file is still an object, only without stored headers.
    return null;
  }
}

/** The ETag of a file the gateway did not write (or that changed since): stable while the file
 * is unchanged, different after any change, which is what conditional requests need. */
export function derivedEtag(ino: number, size: number, mtimeNs: bigint): string {
  return createHash('md5').update(`strata:${ino}:${size}:${mtimeNs}`).digest('hex');
}

/** Does the gateway's record still describe the file (nothing changed it since, through any entrypoint)? */
export function recordIsCurrent(attr: { size: number; mtimeNs: bigint }, record: ObjectRecord | null): record is ObjectRecord {
  return record !== null && record.size === attr.size && record.mtimeNs === String(attr.mtimeNs);
}

export function describeObject(attr: { ino: number; size: number; mtimeNs: bigint }, record: ObjectRecord | null): ObjectInfo {
  const current = recordIsCurrent(attr, record);
  return {
    ino: attr.ino,
    size: attr.size,
    mtimeNs: attr.mtimeNs,
    etag: current ? record.etag : derivedEtag(attr.ino, attr.size, attr.mtimeNs),
    headers: record?.headers ?? {},
    meta: record?.meta ?? {},
    checksums: current ? record.checksums ?? {} : {},
    checksumType: (current ? record.checksumType : undefined) ?? 'FULL_OBJECT',
    parts: current ? record.parts : undefined,
    partSizes: current ? record.partSizes : undefined,
    upload: current ? record.upload : undefined,
    tags: record?.tags ?? [],
    ...(record?.acl !== undefined ? { acl: record.acl } : {}),
    current,
  };
}

/** The record to write back for an object whose metadata alone changes (tags, ACL): what was
 * stored, kept as it is, with `changes`. A file the gateway did not write gets a record
 * describing it as it is now. */
export function recordWith(info: ObjectInfo, changes: Partial<Pick<ObjectRecord, 'tags' | 'acl'>>): ObjectRecord {
  return {
    etag: info.etag, size: info.size, mtimeNs: String(info.mtimeNs), headers: info.headers, meta: info.meta,
    checksums: info.checksums, checksumType: info.checksumType, parts: info.parts, partSizes: info.partSizes, upload: info.upload,
    tags: info.tags, ...(info.acl ? { acl: info.acl } : {}), ...changes,
  };
}

/** System headers and user metadata of a PUT / CreateMultipartUpload / CopyObject (REPLACE). */
export function headersOf(req: S3Request): { headers: Record<string, string>; meta: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = header(req, name);
    if (v !== undefined) headers[name] = v;
  }
  // aws-chunked is how the body travelled, not how the object is encoded.
  if (headers['content-encoding'] !== undefined) {
    const rest = headers['content-encoding'].split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
    if (rest.length === 0) delete headers['content-encoding'];
    else headers['content-encoding'] = rest.join(', ');
  }
  return { headers, meta: userMetadata(headerPairs(req.rawHeaders)) };
}

function* headerPairs(raw: readonly string[]): Generator<[string, string]> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i], raw[i + 1]];
}

/** The x-amz-meta-* entries among header (or form field) names and values, short names
 * lowercased; a name given twice has its values joined by commas, as HTTP joins repeated headers. */
export function userMetadata(pairs: Iterable<readonly [string, string]>): Record<string, string> {
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [raw, value] of pairs) {
    const name = raw.toLowerCase();
    if (!name.startsWith('x-amz-meta-')) continue;
    const short = name.slice('x-amz-meta-'.length);
    meta[short] = meta[short] === undefined ? value : `${meta[short]},${value}`;
    bytes += Buffer.byteLength(short) + Buffer.byteLength(value);
  }
  if (bytes > MAX_USER_METADATA) {
    throw new S3Error('MetadataTooLarge', `The user metadata (x-amz-meta-*) is ${bytes} bytes; at most ${MAX_USER_METADATA} are allowed.`, { Size: String(bytes), MaxSizeAllowed: String(MAX_USER_METADATA) });
  }
  return meta;
}
