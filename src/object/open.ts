// Storage URL -> ObjectStore. Only local directories exist so far; s3:// parses and is refused
// with a message saying so.
import { parseStorageUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import { FileObjectStore } from './file.js';
import type { ObjectStore } from './store.js';

/** Canonical form of a storage URL (relative directories made absolute) for storing in settings. */
export function canonicalStorageUrl(input: string): string {
  const url = parseStorageUrl(input);
  return url.kind === 'file' ? `file://${url.path}` : input;
}

/** Open the store a storage URL names; `create` makes a missing data directory. */
export async function openObjectStore(input: string, options: { create?: boolean; durable?: boolean } = {}): Promise<ObjectStore> {
  const url = parseStorageUrl(input);
  if (url.kind === 'file') return FileObjectStore.open(url.path, { create: options.create ?? false, durable: options.durable });
  throw errnoError('ENOSYS', 'open', undefined, `${url.url}: S3 storage is not available in this build yet; use file:///PATH`);
}
