// Garbage collection of a volume's store: blocks no slice of the metadata knows (left by a client
// that died between upload and commit, or by a failed upload), slice deletions no client
// finished, and trash entries past their time. Without `delete` it only reports.
//
// Safety: a block is leaked only if its slice is unknown to the metadata AND the object is older
// than `minAgeMs`. A writer uploads a slice's blocks as they fill and commits the slice at flush,
// close, or at the latest after ten minutes (vfs commitAfterMs), so an unknown block younger than
// the window (default a day) may belong to a file still open for writing. The known slices are read
// before the listing starts, so a slice committed during the listing is at worst unknown and
// young. A leaked slice is not deleted directly: it is abandoned (queued for deletion in the
// metadata, which a commit of it then refuses, and which does nothing if it was committed after
// all) and its blocks go the way every freed slice's go.
import type { ChunkStore } from '../chunk/store.js';
import { blockKey, parseBlockKey } from '../chunk/keys.js';
import type { KnownSlice, Meta } from '../meta/meta.js';
import type { ObjectStore } from '../object/store.js';
import { reclaimSlices } from '../vfs/reclaim.js';
import { chunkPages, eachLimited } from './batch.js';

export interface GcOptions {
  /** Unknown blocks younger than this are left alone (ms; default one hour). */
  minAgeMs?: number;
  /** Delete what is found (default: only report). */
  delete?: boolean;
  /** Slices abandoned at once. */
  threads?: number;
  /** Keys per listing request (tests page with small ones). */
  pageSize?: number;
  /** Days a trash entry is kept (the volume's setting). */
  trashDays: number;
  /** After each listed page: objects seen so far. */
  progress?: (scanned: number) => void;
  /** True once the run should stop (Ctrl-C): it ends after the page at hand. */
  stopped?: () => boolean;
}

export interface GcReport {
  scannedObjects: number;
  scannedBytes: number;
  /** Blocks of slices the metadata knows. */
  knownBlocks: number;
  /** Blocks of no known slice, older than the window: leaked. */
  leakedObjects: number;
  leakedBytes: number;
  /** Of those, deleted (with `delete`). */
  deletedObjects: number;
  /** Leaked blocks whose deletion failed (the store refused; tried again by the next run). */
  failedObjects: number;
  /** Blocks of no known slice inside the window: perhaps an upload in flight, left alone. */
  youngObjects: number;
  /** Objects under chunks/ that are not block names: not Strata's, left alone. */
  foreignObjects: number;
  /** Slices waiting for deletion since before the window (no client reclaimed them). */
  stalePendingSlices: number;
  /** Of the pending slices, deleted and forgotten (with `delete`). */
  reclaimedSlices: number;
  /** Trash entries past the volume's trash days, and how many were removed (with `delete`). */
  expiredTrash: number;
  removedTrash: number;
  /** A few leaked keys, for the report. */
  examples: string[];
  interrupted: boolean;
}

const DAY_MS = 86_400_000;
const PAGE = 1000;
export const DEFAULT_GC_MIN_AGE_MS = 86_400_000;

async function knownSlices(meta: Pick<Meta, 'knownSlices'>): Promise<Map<number, KnownSlice>> {
  const known = new Map<number, KnownSlice>();
  for (let after = 0; ;) {
    const page = await meta.knownSlices(after, 10_000);
    for (const s of page) known.set(s.id, s);
    if (page.length < 10_000) return known;
    after = page[page.length - 1].id;
  }
}

export async function collectGarbage(meta: Meta, objects: ObjectStore, store: Pick<ChunkStore, 'deleteSlice' | 'blockSize'>, options: GcOptions): Promise<GcReport> {
  const blockSize = store.blockSize;
  const minAgeMs = options.minAgeMs ?? DEFAULT_GC_MIN_AGE_MS;
  const stopped = options.stopped ?? (() => false);
  const r: GcReport = {
    scannedObjects: 0, scannedBytes: 0, knownBlocks: 0, leakedObjects: 0, leakedBytes: 0, deletedObjects: 0, failedObjects: 0, youngObjects: 0, foreignObjects: 0,
    stalePendingSlices: 0, reclaimedSlices: 0, expiredTrash: 0, removedTrash: 0, examples: [], interrupted: false,
  };
  const started = Date.now();
  const known = await knownSlices(meta);
  for (const s of known.values()) if (s.refs === 0 && s.pendingSinceMs !== null && started - s.pendingSinceMs > minAgeMs) r.stalePendingSlices++;

  // Leaked blocks by slice: each slice is abandoned whole, as big as its last block found says.
  const leaked = new Map<number, { size: number; keys: string[]; committed?: boolean }>();
  for await (const page of chunkPages(objects, options.pageSize ?? PAGE, stopped)) {
    for (const o of page.objects) {
      r.scannedObjects++;
      r.scannedBytes += o.size;
      const block = parseBlockKey(o.key);
      // Only a block's exact name: "chunks/x/chunks/0/0/5_0_3" is somebody else's object.
      if (!block || blockKey(block.sliceId, block.blockIndex, block.blockLength) !== o.key) {
        r.foreignObjects++;
      } else if (known.has(block.sliceId)) {
        r.knownBlocks++;
      } else if (started - o.mtime.getTime() < minAgeMs) {
        r.youngObjects++;
      } else {
        r.leakedObjects++;
        r.leakedBytes += o.size;
        if (r.examples.length < 10) r.examples.push(o.key);
        const slice = leaked.get(block.sliceId) ?? { size: 0, keys: [] };
        slice.size = Math.max(slice.size, block.blockIndex * blockSize + block.blockLength);
        slice.keys.push(o.key);
        leaked.set(block.sliceId, slice);
      }
    }
    options.progress?.(r.scannedObjects);
  }
  if (stopped()) r.interrupted = true;

  if (options.delete && !r.interrupted) {
    await eachLimited([...leaked], options.threads ?? 10, async ([id, slice]) => {
      if (stopped()) return;
      await meta.abandonSlice({ id, size: slice.size });
      // Committed after the snapshot after all (a writer slower than the window): left alone.
      const now = (await meta.knownSlices(id - 1, 1))[0];
      slice.committed = now?.id === id && now.refs > 0;
    });
  }
  const cutoff = options.trashDays > 0 ? started - options.trashDays * DAY_MS : Number.POSITIVE_INFINITY;
  r.expiredTrash = (await meta.listTrash()).filter((t) => t.deletedMs < cutoff).length;
  if (options.delete && !r.interrupted) {
    if (r.expiredTrash > 0) r.removedTrash = await meta.emptyTrash(options.trashDays * DAY_MS);
    // What was abandoned, what the trash freed and what no client reclaimed: deleted as every
    // client deletes freed slices (a store that refuses leaves them queued for the next run).
    r.reclaimedSlices = await reclaimSlices(meta, store, stopped).catch(() => 0);
  }
  if (stopped()) r.interrupted = true;
  // Count what is gone: a leaked slice committed meanwhile after all was left alone.
  if (options.delete) {
    for (const slice of leaked.values()) {
      if (slice.committed !== false) continue;
      for (const key of slice.keys) {
        if (await objects.head(key).catch(() => 'unknown')) r.failedObjects++;
        else r.deletedObjects++;
      }
    }
  }
  return r;
}
