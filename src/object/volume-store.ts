// A volume's objects: the store a storage URL names, with the credentials the volume's settings
// keep for it, under the volume's name. Clients open their volume's store through this, and a
// mirror's replicator opens both its primary's and its own.
import { loadSealingKey, readStoredCredentials } from './s3-credentials.js';
import { openObjectStore, type OpenStoreOptions } from './open.js';
import { MeasuredObjectStore } from './measured.js';
import { PrefixedObjectStore } from './prefix.js';
import type { ObjectStore } from './store.js';

export interface VolumeStoreSpec {
  /** The volume's name: every key lives under it. */
  name: string;
  storage: string;
  /** As the settings keep them (JSON, or sealed under STRATA_KEY). */
  storageCredentials?: string;
}

/** Where a volume's own objects are reached from this engine: a mirror may name another
 * endpoint for its primary's store. */
export function primaryStoreSpec(settings: VolumeStoreSpec & { mirror?: { primaryStorage?: string } }): VolumeStoreSpec {
  return { name: settings.name, storage: settings.mirror?.primaryStorage ?? settings.storage, storageCredentials: settings.storageCredentials };
}

/** `store` labels its metrics: 'primary' (a volume's store; a mirror reads through to it),
 * 'mirror' (a mirror region's own), and the replicator's 'replicate-primary' / 'replicate-mirror'. */
export async function openVolumeObjects(spec: VolumeStoreSpec, options: Omit<OpenStoreOptions, 'accessKey' | 'secretKey'> & { keyFile?: string; store?: string } = {}): Promise<ObjectStore> {
  const { keyFile, store, ...open } = options;
  const credentials = spec.storageCredentials === undefined ? undefined
    : readStoredCredentials(spec.storageCredentials, spec.name, () => loadSealingKey({ keyFile }));
  return MeasuredObjectStore.wrap(new PrefixedObjectStore(await openObjectStore(spec.storage, { ...open, ...credentials }), spec.name), spec.name, store ?? 'primary');
}

/** The storage location itself, above the volume's own prefix: where the objects an import linked
 * to live (their keys are relative to the storage URL). Opened on first use. */
export function lazyStorageRoot(spec: VolumeStoreSpec, options: Omit<OpenStoreOptions, 'accessKey' | 'secretKey'> & { keyFile?: string } = {}): { get(): Promise<ObjectStore>; close(): Promise<void> } {
  let opened: Promise<ObjectStore> | null = null;
  return {
    get() {
      opened ??= (async () => {
        const { keyFile, ...open } = options;
        const credentials = spec.storageCredentials === undefined ? undefined
          : readStoredCredentials(spec.storageCredentials, spec.name, () => loadSealingKey({ keyFile }));
        return MeasuredObjectStore.wrap(await openObjectStore(spec.storage, { ...open, ...credentials }), spec.name, 'linked');
      })();
      // A failure is not kept: the next read tries again.
      opened.catch(() => { opened = null; });
      return opened;
    },
    async close() {
      const store = await opened?.catch(() => null);
      await store?.close();
    },
  };
}
