// A real local-directory object store in a temp dir, scoped to a volume the way the data path
// receives it (`{volume}/chunks/...` on disk).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileObjectStore } from '../../src/object/file.js';
import { PrefixedObjectStore } from '../../src/object/prefix.js';
import type { ObjectStore } from '../../src/object/store.js';

export const VOLUME = 'vol';

export interface TempObjects {
  root: string;
  objects: ObjectStore;
  /** The file on disk holding the volume's object `key`. */
  fileOf(key: string): string;
  cleanup(): Promise<void>;
}

export async function tempObjects(): Promise<TempObjects> {
  const root = await mkdtemp(join(tmpdir(), 'strata-chunk-'));
  // Durability (fsync per put) is the store's business, not what these tests check.
  const objects = new PrefixedObjectStore(await createFileObjectStore(root, { durable: false }), VOLUME);
  return {
    root,
    objects,
    fileOf: (key) => join(root, VOLUME, ...key.split('/')),
    async cleanup() {
      await objects.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Deterministic, position-dependent bytes for `seed` (so misplaced bytes show up). */
export function fillPattern(buf: Uint8Array, seed: number): void {
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x & 0xff;
  }
}
