// The object-storage seam. Objects are opaque byte strings under string keys; this layer knows
// nothing of files, inodes or blocks. Every backend (local directory, S3, wrappers) implements
// ObjectStore and passes test/object/conformance.ts.
import { errnoError } from '../errors/errno.js';

export interface ByteRange {
  /** First byte to read (>= 0). */
  offset: number;
  /** Bytes to read (>= 0); a range past the end of the object returns what exists. */
  length: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  mtime: Date;
  /** What identifies this version of the object (S3's ETag without quotes; a local directory's is
   * made of the file's size and mtime): another version has another one. */
  etag?: string;
}

export interface GetIntoOptions {
  /** The version the caller expects (ObjectInfo.etag): the read fails with ESTALE, naming the
   * key, when the object is another one now. */
  etag?: string;
}

export interface ListOptions {
  /** Only keys starting with this string. */
  prefix?: string;
  /** Only keys sorting strictly after this one (byte order). */
  startAfter?: string;
  /**
   * Roll keys up at the first `delimiter` after the prefix: `a/b/c` listed with prefix `a/` and
   * delimiter `/` appears once, as the common prefix `a/b/` (S3 semantics). A common prefix equal
   * to `startAfter` is not reported again: that is how paging continues past it.
   */
  delimiter?: string;
  /** At most this many entries (objects + common prefixes) per page; default and maximum 1000. */
  limit?: number;
}

export interface ListPage {
  /** Objects in key byte order. */
  objects: ObjectInfo[];
  /** Common prefixes (with a delimiter only) in byte order. */
  prefixes: string[];
  /** More entries follow; pass `next` as `startAfter` to get them. */
  truncated: boolean;
  /** The last entry of this page (a key or a common prefix), when truncated. */
  next?: string;
}

/** Former name of ListPage. */
export type ListResult = ListPage;

export interface ObjectStore {
  /**
   * The whole object, or the bytes of `range` that exist. A missing key is ENOENT naming the key.
   */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /**
   * Read from byte `offset` of the object into `target` (filling it if the object is long enough).
   * Returns the number of bytes read: less than `target.byteLength` only at the end of the object.
   * Lets the data path read straight into buffers that live in WebAssembly memory.
   */
  getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number>;
  /** Store `data` (concatenated, when given parts) atomically: readers see the old object or the whole new one. */
  put(key: string, data: Uint8Array | Uint8Array[]): Promise<void>;
  /** Remove the object; a missing key is success. */
  delete(key: string): Promise<void>;
  /** Size and modification time, or undefined when the key does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One page of keys in byte order. */
  list(options?: ListOptions): Promise<ListPage>;
  /** Where the objects live, e.g. `file:///var/lib/strata/data/`. Never contains credentials. */
  describe(): string;
  close(): Promise<void>;
}

export const MAX_KEY_BYTES = 1024;
export const MAX_LIST_LIMIT = 1000;

// With the u flag a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `key` is not a valid object key, or null when it is. */
export function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return `object key must be a string, got ${typeof key}`;
  if (key.length === 0) return 'object key must not be empty';
  if (key.includes('\0')) return 'object key must not contain NUL bytes';
  if (key.startsWith('/')) return 'object key must not start with "/"';
  if (key.endsWith('/')) return 'object key must not end with "/"';
  const segments = key.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'object key must not contain "." or ".." segments';
  if (segments.some((s) => s === '')) return 'object key must not contain empty segments ("//")';
  if (LONE_SURROGATE.test(key)) return 'object key must be valid Unicode (no lone surrogates)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `object key is ${bytes} bytes, at most ${MAX_KEY_BYTES} allowed`;
  return null;
}

/** Throw EINVAL naming `key` (and `syscall`) unless it is a valid object key. */
export function checkKey(key: string, syscall: string): void {
  const problem = keyProblem(key);
  if (problem !== null) throw errnoError('EINVAL', syscall, typeof key === 'string' ? JSON.stringify(key) : String(key), problem);
}

/** Former name of checkKey. */
export const validateKey = checkKey;

/** Throw EINVAL unless `range` is a pair of non-negative safe integers. */
export function checkRange(key: string, range: ByteRange, syscall: string): void {
  const { offset, length } = range ?? {};
  if (!Number.isSafeInteger(offset) || offset < 0) throw errnoError('EINVAL', syscall, key, `range offset must be a non-negative integer, got ${String(offset)}`);
  if (!Number.isSafeInteger(length) || length < 0) throw errnoError('EINVAL', syscall, key, `range length must be a non-negative integer, got ${String(length)}`);
}

export type CheckedListOptions = ListOptions & { prefix: string; limit: number };

/** Validated list options with defaults applied. */
export function checkListOptions(options: ListOptions | undefined): CheckedListOptions {
  const o = options ?? {};
  for (const name of ['prefix', 'startAfter', 'delimiter'] as const) {
    const v = o[name];
    if (v !== undefined && typeof v !== 'string') throw errnoError('EINVAL', 'list', undefined, `list option ${name} must be a string, got ${typeof v}`);
    if (typeof v === 'string' && v.includes('\0')) throw errnoError('EINVAL', 'list', undefined, `list option ${name} must not contain NUL bytes`);
  }
  if (o.delimiter === '') throw errnoError('EINVAL', 'list', undefined, 'list option delimiter must not be empty');
  const limit = o.limit ?? MAX_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw errnoError('EINVAL', 'list', undefined, `list option limit must be a positive integer, got ${String(o.limit)}`);
  return { ...o, prefix: o.prefix ?? '', limit: Math.min(limit, MAX_LIST_LIMIT) };
}

/**
 * Compare two keys by their UTF-8 bytes (S3's order). That is code point order, which differs
 * from JS string order only when a surrogate pair meets a code unit in U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}

/** The parts of `data` as a list (a single buffer is one part). */
export function partsOf(data: Uint8Array | Uint8Array[]): Uint8Array[] {
  if (data instanceof Uint8Array) return [data];
  if (Array.isArray(data) && data.every((p) => p instanceof Uint8Array)) return data;
  throw new TypeError('object data must be a Uint8Array or an array of Uint8Array');
}
