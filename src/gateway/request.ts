// Parsing an HTTP request into what S3 addresses: the bucket and key (path-style
// "/bucket/key" or virtual-hosted "bucket.domain/key"), the decoded query, and the headers.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors.js';
import type { QueryParam } from './sigv4.js';

export interface S3Request {
  /** Request id, echoed in x-amz-request-id and in error documents. */
  readonly id: string;
  readonly method: string;
  /** The path as sent, before decoding. */
  readonly rawPath: string;
  /** The decoded path (what the signature's canonical URI is built from). */
  readonly path: string;
  /** Query parameters in the order sent, decoded. */
  readonly params: readonly QueryParam[];
  /** First value of each query parameter. */
  readonly query: ReadonlyMap<string, string>;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  /** Bucket named by the host or the first path segment; null for the service (ListBuckets). */
  readonly bucket: string | null;
  /** Everything after the bucket, exactly as decoded; null when the request names the bucket. */
  readonly key: string | null;
  readonly raw: IncomingMessage;
}

// Request ids: a random per-process prefix and a counter — unique, and cheaper than random bytes
// for every request.
const ID_PREFIX = randomBytes(3).toString('hex').toUpperCase();
let idCounter = 0;

export function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x10000000000;
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(10, '0');
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', `Couldn't parse the specified URI: the ${what} is not valid percent-encoded UTF-8.`);
  }
}

export function parseQuery(raw: string): QueryParam[] {
  const out: QueryParam[] = [];
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = decode(eq < 0 ? piece : piece.slice(0, eq), 'query');
    const value = eq < 0 ? '' : decode(piece.slice(eq + 1), 'query');
    out.push({ name, value });
  }
  return out;
}

/** The bucket a virtual-hosted request names through its Host header, or null. */
export function bucketFromHost(host: string | undefined, domains: readonly string[]): string | null {
  if (!host || domains.length === 0) return null;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  for (const d of domains) {
    if (name.length > d.length + 1 && name.endsWith(`.${d}`)) return name.slice(0, name.length - d.length - 1);
  }
  return null;
}

export function parseRequest(req: IncomingMessage, id: string, domains: readonly string[]): S3Request {
  let url = req.url ?? '/';
  // Absolute-form targets ("http://host/path") name the same resource as origin-form ones.
  const abs = /^https?:\/\/[^/?]*/i.exec(url);
  if (abs) url = url.slice(abs[0].length) || '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI: the path must start with "/".');
  const path = decode(rawPath, 'path');
  const params = parseQuery(q < 0 ? '' : url.slice(q + 1));
  const query = new Map<string, string>();
  for (const p of params) if (!query.has(p.name)) query.set(p.name, p.value);

  let bucket: string | null;
  let key: string | null;
  const hosted = bucketFromHost(req.headers.host, domains);
  if (hosted !== null) {
    bucket = hosted;
    key = path === '/' ? null : path.slice(1);
  } else {
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    if (rest === '') {
      bucket = null;
      key = null;
    } else if (slash < 0) {
      bucket = rest;
      key = null;
    } else {
      bucket = rest.slice(0, slash);
      key = rest.slice(slash + 1);
    }
  }
  // "/bucket/" names the bucket, as S3 reads it.
  if (key === '') key = null;
  return { id, method: req.method ?? 'GET', rawPath, path, params, query, headers: req.headers, rawHeaders: req.rawHeaders, bucket, key, raw: req };
}

/** A header's single value (the first, if repeated). */
export function header(req: S3Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
