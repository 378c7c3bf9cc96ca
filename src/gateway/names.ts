// Which bucket names and object keys the volume can hold. A bucket is a top-level directory and a
// key a path below it, so keys that cannot be paths ('..', '.', empty segments, segments over
// NAME_MAX) are refused with a clear error instead of being mangled.
import { S3Error } from './errors.js';

/** The reserved top-level directory holding the gateway's own state (staged uploads, temp files).
 * Its leading dot makes it an invalid bucket name, so no bucket can collide with it. */
export const SYSTEM_DIR = '.strata-gateway';

export const MAX_KEY_BYTES = 1024;
const NAME_MAX = 255;

/** Why `name` is not a valid S3 bucket name, or null. */
export function bucketNameProblem(name: string): string | null {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'may hold only lowercase letters, digits, "." and "-", and must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not hold two adjacent periods';
  if (name.includes('.-') || name.includes('-.')) return 'must not hold a period next to a hyphen';
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return 'must not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'must not begin with "xn--" or "sthree-"';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return 'must not end with "-s3alias" or "--ol-s3"';
  return null;
}

export function checkBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw new S3Error('InvalidBucketName', `The bucket name "${name.slice(0, 80)}" is not valid: it ${problem}.`, { BucketName: name.slice(0, 255) });
}

/** What a key is on the volume: the path segments, and whether it names a directory (a key
 * ending in "/" is a "folder" object: the directory itself). */
export interface KeyPath {
  segments: string[];
  directory: boolean;
}

function invalidKey(key: string, why: string): never {
  throw new S3Error('InvalidObjectName', `The object key "${key.slice(0, 120)}" cannot be stored as a path: ${why}.`, { Key: key.slice(0, 1024) });
}

export function keyPath(key: string): KeyPath {
  if (key.length === 0) invalidKey(key, 'it is empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', `The object key is ${Buffer.byteLength(key, 'utf8')} bytes; at most ${MAX_KEY_BYTES} are allowed.`, { Size: String(Buffer.byteLength(key, 'utf8')), MaxSizeAllowed: String(MAX_KEY_BYTES) });
  }
  if (key.includes('\u0000')) invalidKey(key, 'it holds a NUL character');
  const directory = key.endsWith('/');
  const segments = (directory ? key.slice(0, -1) : key).split('/');
  for (const s of segments) {
    if (s === '') invalidKey(key, directory && segments.length === 1 ? 'it is only "/"' : 'it has an empty path segment ("//" or a leading "/")');
    if (s === '.' || s === '..') invalidKey(key, `it has a "${s}" path segment`);
    if (Buffer.byteLength(s, 'utf8') > NAME_MAX) invalidKey(key, `a path segment is longer than ${NAME_MAX} bytes`);
  }
  return { segments, directory };
}

/** The volume path of a key in a bucket (no trailing slash, even for folder keys). */
export function objectPath(bucket: string, kp: KeyPath): string {
  return `/${bucket}/${kp.segments.join('/')}`;
}
