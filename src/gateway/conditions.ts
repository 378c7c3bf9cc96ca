// Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) and
// byte ranges, with the precedence RFC 7232 and S3 give them.
import { S3Error } from './errors.js';

/** Does an If-Match / If-None-Match list name `etag`? ("*" names any object.) */
export function etagMatches(list: string, etag: string): boolean {
  for (let item of list.split(',')) {
    item = item.trim();
    if (item === '*') return true;
    if (item.startsWith('W/')) item = item.slice(2);
    if (item.startsWith('"') && item.endsWith('"') && item.length >= 2) item = item.slice(1, -1);
    if (item === etag) return true;
  }
  return false;
}

function parseDate(v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** Check a read's preconditions: 412 PreconditionFailed or 304 NotModified when one fails. */
export function checkRead(c: Conditions, etag: string, mtimeMs: number, headers: Record<string, string>): void {
  // HTTP dates have whole seconds: compare what the client could have seen.
  const modified = Math.floor(mtimeMs / 1000) * 1000;
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, etag)) throw new S3Error('PreconditionFailed', 'At least one of the preconditions you specified did not hold.', { Condition: 'If-Match' });
  } else {
    const since = parseDate(c.ifUnmodifiedSince);
    if (since !== null && modified > since) throw new S3Error('PreconditionFailed', 'At least one of the preconditions you specified did not hold.', { Condition: 'If-Unmodified-Since' });
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, etag)) throw new S3Error('NotModified', undefined, {}, headers);
  } else {
    const since = parseDate(c.ifModifiedSince);
    if (since !== null && modified <= since) throw new S3Error('NotModified', undefined, {}, headers);
  }
}

/** The conditions of CopyObject's source (x-amz-copy-source-if-*): all failures are 412. */
export function checkCopySource(c: Conditions, etag: string, mtimeMs: number): void {
  try {
    checkRead(c, etag, mtimeMs, {});
  } catch (err) {
    if (err instanceof S3Error && err.code === 'NotModified') throw new S3Error('PreconditionFailed', 'At least one of the preconditions you specified did not hold.', { Condition: 'x-amz-copy-source-If-None-Match' });
    throw err;
  }
}

/** [start, end) of a Range header against an object of `size` bytes; null when the header is
 * absent or not a single byte range (S3 then sends the whole object). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | null {
  if (value === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { ActualObjectSize: String(size) }, { 'Content-Range': `bytes */${size}` });
}
