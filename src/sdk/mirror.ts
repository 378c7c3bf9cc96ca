// Making a mirror from the SDK and the CLI: the mirror's own object store (optional) is created
// and its credentials stored as format stores a volume's, then the primary's volume is copied in.
import { canonicalStorageUrl, openObjectStore } from '../object/open.js';
import { createMirror, type SnapshotResult } from '../mirror/create.js';
import type { SnapshotProgress } from '../mirror/snapshot.js';
import { formatCredentials } from './backends.js';
import { errnoError } from '../errors/errno.js';

export interface CreateMirrorVolumeOptions extends SnapshotProgress {
  /** The mirror's own object store (a directory or bucket URL); default: read the primary's. */
  storage?: string;
  accessKey?: string;
  secretKey?: string;
  /** Store the S3 keys sealed under STRATA_KEY or `keyFile`. */
  encryptKeys?: boolean;
  keyFile?: string;
  /** The primary's store as this region reaches it (another endpoint of the same bucket). */
  primaryStorage?: string;
}

export async function createMirrorVolume(primary: string, mirror: string, options: CreateMirrorVolumeOptions = {}): Promise<SnapshotResult> {
  let storage: string | undefined;
  let storageCredentials: string | undefined;
  if (options.storage !== undefined) {
    storage = canonicalStorageUrl(options.storage);
    const credentials = formatCredentials(options, options.storage);
    storageCredentials = credentials?.stored;
    // Made first, as format does: a mirror whose store cannot be created is never recorded.
    const objects = await openObjectStore(storage, { create: true, ...credentials?.given });
    await objects.close();
  } else if (options.accessKey !== undefined || options.secretKey !== undefined || options.encryptKeys) {
    throw errnoError('EINVAL', 'mirror', undefined, 'access keys and --encrypt-keys are for the mirror\'s own store: give that store with --bucket');
  }
  return createMirror(primary, mirror, { ...options, storage, storageCredentials, primaryStorage: options.primaryStorage === undefined ? undefined : canonicalStorageUrl(options.primaryStorage) });
}
