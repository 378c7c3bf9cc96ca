// Storage URL -> ObjectStore: a local directory (file://) or an S3 bucket (s3://bucket/prefix,
// or http(s)://endpoint/bucket/prefix for S3-compatible services).
import { parseStorageUrl, type S3StorageUrl } from '../config/urls.js';
import { FileObjectStore } from './file.js';
import { PrefixedObjectStore } from './prefix.js';
import { S3ObjectStore } from './s3.js';
import type { ObjectStore } from './store.js';

export interface OpenStoreOptions {
  /** Make a missing data directory or bucket. */
  create?: boolean;
  /** Local directories: fsync the directory after each write (see FileStoreOptions). */
  durable?: boolean;
  /** S3: credentials that take precedence over the URL's and the environment's (e.g. the
   * volume's stored ones). */
  accessKey?: string;
  secretKey?: string;
  /** S3: retries per request before EIO (default 10), and the per-attempt timeout. */
  ioRetries?: number;
  requestTimeoutMs?: number;
  /** S3: sockets in the keep-alive pool. */
  maxSockets?: number;
  /** Where AWS_* variables come from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The prefix segments %-escaped where needed, so that the URL parses back to the same prefix. */
function encodePrefix(prefix: string): string {
  return prefix.split('/').map((s) => s.replace(/[%?#@\s]/g, (c) => encodeURIComponent(c))).join('/');
}

/** An S3 storage URL without its credentials (those never go into settings or messages). */
export function s3UrlWithoutCredentials(url: S3StorageUrl): string {
  const params = new URLSearchParams();
  if (url.region !== undefined) params.set('region', url.region);
  if (url.pathStyle !== undefined) params.set('style', url.pathStyle ? 'path' : 'virtual');
  const query = params.size > 0 ? `?${params.toString()}` : '';
  const path = url.prefix === '' ? '' : `/${encodePrefix(url.prefix)}`;
  return url.endpoint === undefined ? `s3://${url.bucket}${path}${query}` : `${url.endpoint}/${url.bucket}${path}${query}`;
}

/** Canonical form of a storage URL for storing in settings: relative directories made absolute,
 * credentials left out (they are stored on their own, see s3-credentials.ts). */
export function canonicalStorageUrl(input: string): string {
  const url = parseStorageUrl(input);
  return url.kind === 'file' ? `file://${url.path}` : s3UrlWithoutCredentials(url);
}

/** Open the store a storage URL names. */
export async function openObjectStore(input: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  const url = parseStorageUrl(input);
  if (url.kind === 'file') return FileObjectStore.open(url.path, { create: options.create ?? false, durable: options.durable });
  const given = options.accessKey !== undefined || options.secretKey !== undefined;
  const store = await S3ObjectStore.open({
    bucket: url.bucket,
    endpoint: url.endpoint,
    region: url.region,
    pathStyle: url.pathStyle,
    accessKey: given ? options.accessKey : url.accessKey,
    secretKey: given ? options.secretKey : url.secretKey,
    ioRetries: options.ioRetries,
    requestTimeoutMs: options.requestTimeoutMs,
    maxSockets: options.maxSockets,
    create: options.create,
    env: options.env,
  });
  return url.prefix === '' ? store : new PrefixedObjectStore(store, url.prefix);
}
