// Compaction of one chunk: the bytes its slices show are written as one new slice, which replaces
// them in one metadata transaction that changes nothing if the chunk changed meanwhile. Reads see
// the same bytes before and after; the replaced slices lose a reference each and their objects go
// the way every freed slice's go. `strata compact` runs it over a tree, clients on chunks that
// their own writes fragmented.
import { causedBy } from '../errors/errno.js';
import { resolveSlices, type Slice } from '../hotpath/index.js';
import { CHUNK_SIZE, type ChunkStore } from '../chunk/store.js';
import { dataBytesIn } from '../meta/coverage.js';
import type { Meta, SliceRecord } from '../meta/meta.js';

/** A chunk's data, as runs of bytes side by side: what one slice of `size` bytes replaces. */
export interface CompactionPlan {
  runs: { pos: number; len: number }[];
  size: number;
}

/** Slices side by side with nothing hidden are left as they are up to this many: they may be
 * shared (clones, CopyObject, multipart parts) and rewriting them would store the bytes twice. */
export const SIDE_BY_SIDE_KEPT = 16;

/** What compacting a chunk would write, or null when it is not worth it: nothing of it hidden by
 * later writes and at most SIDE_BY_SIDE_KEPT slices, or nothing but holes. */
export function compactionPlan(slices: readonly Slice[], blockSize: number): CompactionPlan | null {
  const ids = new Set(slices.filter((s) => s.id !== 0).map((s) => s.id));
  if (ids.size === 0) return null;
  const covered = dataBytesIn(slices.map((s) => ({ id: 1, pos: s.pos, len: s.len })), 0, CHUNK_SIZE);
  const shown = slices.reduce((sum, s) => sum + s.len, 0);
  if (shown === covered && (ids.size === 1 || slices.length <= SIDE_BY_SIDE_KEPT)) return null;
  const runs: { pos: number; len: number }[] = [];
  for (const p of resolveSlices([...slices], 0, CHUNK_SIZE, blockSize)) {
    if (p.sliceId === 0) continue;
    const last = runs[runs.length - 1];
    if (last && last.pos + last.len === p.pos) last.len += p.length;
    else runs.push({ pos: p.pos, len: p.length });
  }
  const size = runs.reduce((sum, r) => sum + r.len, 0);
  return size === 0 ? null : { runs, size };
}

export type ChunkCompaction =
  | { outcome: 'compacted'; before: number; after: number; written: number; released: { id: number; size: number }[] }
  | { outcome: 'unneeded' | 'changed' };

export type CompactionMeta = Pick<Meta, 'compactChunk' | 'abandonSlice' | 'newSliceId'>;

/** Compact chunk `index` of `inode`, whose slices are `slices` (as readChunk listed them). */
export async function compactChunk(meta: CompactionMeta, store: Pick<ChunkStore, 'read' | 'storeSlice' | 'blockSize'>, inode: number, index: number, slices: SliceRecord[]): Promise<ChunkCompaction> {
  const plan = compactionPlan(slices, store.blockSize);
  if (!plan) return { outcome: 'unneeded' };
  const base = index * CHUNK_SIZE;
  // The bytes are read through exactly these slices: the swap checks the chunk still starts with them.
  const source = { readChunk: async () => slices };
  const data = Buffer.allocUnsafe(plan.size);
  let at = 0;
  try {
    for (const run of plan.runs) {
      await store.read(inode, base + run.pos, data.subarray(at, at + run.len), base + CHUNK_SIZE, source);
      at += run.len;
    }
  } catch (err) {
    // A block gone: the chunk was rewritten meanwhile and its old slices freed. Left for later.
    if (causedBy(err, 'ENOENT')) return { outcome: 'changed' };
    throw err;
  }
  const stored = await store.storeSlice(data, meta);
  let off = 0;
  const replacement = plan.runs.map((run) => {
    const piece = { id: stored.id, size: stored.size, pos: run.pos, off, len: run.len };
    off += run.len;
    return piece;
  });
  let released: { id: number; size: number }[] | null;
  try {
    released = await meta.compactChunk(inode, index, slices, replacement);
  } catch (err) {
    // Committed after all (an answer lost on the way)? Abandoning leaves a referenced slice be.
    await meta.abandonSlice(stored).catch(() => undefined);
    throw err;
  }
  if (released === null) {
    await meta.abandonSlice(stored);
    return { outcome: 'changed' };
  }
  return { outcome: 'compacted', before: slices.length, after: replacement.length, written: stored.size, released };
}
