// Compacting a tree: every chunk of every regular file that holds more than one slice, or bytes
// hidden by later writes, is rewritten as one slice (vfs/compaction.ts), online: a chunk written
// meanwhile is left for the next run. Then the freed slices' objects are deleted.
import type { ChunkStore } from '../chunk/store.js';
import type { Meta } from '../meta/meta.js';
import { compactChunk } from '../vfs/compaction.js';
import { reclaimSlices } from '../vfs/reclaim.js';
import { eachLimited } from './batch.js';
import { isGone, walkTree, type FileRef } from './walk.js';

export interface CompactOptions {
  /** Where to start, as an inode and the path it has (default: the root). */
  start?: FileRef;
  /** Files compacted at once. */
  threads?: number;
  /** Files done so far, and how many the walk found. */
  progress?: (files: number, found: number) => void;
  /** True once the run should stop (Ctrl-C): it ends after the chunk at hand. */
  stopped?: () => boolean;
}

export interface CompactReport {
  files: number;
  chunks: number;
  /** Chunks rewritten as one slice. */
  compactedChunks: number;
  /** Chunks written, truncated or removed while they were compacted: left for the next run. */
  changedChunks: number;
  /** Slice records of the compacted chunks before and after. */
  slicesBefore: number;
  slicesAfter: number;
  /** Bytes of the new slices. */
  bytesWritten: number;
  /** Slices that lost their last reference, and their stored bytes. */
  releasedSlices: number;
  releasedBytes: number;
  /** Stored bytes freed: released minus written. */
  reclaimedBytes: number;
  /** Freed slices whose objects were deleted (these and any other freed ones), their objects and bytes. */
  deletedSlices: number;
  deletedObjects: number;
  deletedBytes: number;
  /** Files that could not be compacted, with why (a missing block: see fsck). */
  failures: { path: string; error: string }[];
  interrupted: boolean;
}

export async function compactTree(meta: Meta, store: ChunkStore, options: CompactOptions = {}): Promise<CompactReport> {
  const stopped = options.stopped ?? (() => false);
  const r: CompactReport = {
    files: 0, chunks: 0, compactedChunks: 0, changedChunks: 0, slicesBefore: 0, slicesAfter: 0, bytesWritten: 0,
    releasedSlices: 0, releasedBytes: 0, reclaimedBytes: 0, deletedSlices: 0, deletedObjects: 0, deletedBytes: 0, failures: [], interrupted: false,
  };
  const walk = await walkTree(meta, options.start ?? { ino: 1, path: '/' }, { stopped, progress: (found) => options.progress?.(0, found) });
  const files = [...walk.files.values()];
  if (!walk.interrupted) {
    await eachLimited(files, options.threads ?? 4, async (f) => {
      const chunks = await meta.chunks(f.ino).catch((err: unknown) => {
        // Removed while the run went: nothing to compact.
        if (!isGone(err)) r.failures.push({ path: f.path, error: (err as Error).message });
        return [];
      });
      for (const c of chunks) {
        if (stopped()) return;
        r.chunks++;
        try {
          const done = await compactChunk(meta, store, f.ino, c.index, c.slices);
          if (done.outcome === 'changed') r.changedChunks++;
          if (done.outcome !== 'compacted') continue;
          r.compactedChunks++;
          r.slicesBefore += done.before;
          r.slicesAfter += done.after;
          r.bytesWritten += done.written;
          r.releasedSlices += done.released.length;
          r.releasedBytes += done.released.reduce((sum, s) => sum + s.size, 0);
        } catch (err) {
          if (isGone(err)) break;
          r.failures.push({ path: `${f.path} (chunk ${c.index})`, error: (err as Error).message });
        }
      }
      r.files++;
      options.progress?.(r.files, files.length);
    });
  }
  r.reclaimedBytes = r.releasedBytes - r.bytesWritten;
  // The freed slices' objects go now rather than at some client's next reclaim; a store that
  // refuses leaves them queued (gc or any client finishes them).
  await reclaimSlices(meta, store, stopped, (s) => {
    r.deletedSlices++;
    r.deletedObjects += store.blockKeys(s.id, s.size).length;
    r.deletedBytes += s.size;
  }).catch(() => undefined);
  r.interrupted = walk.interrupted || stopped();
  return r;
}
