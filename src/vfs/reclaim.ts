// Slices no file references any more: their objects are deleted, then meta forgets them. Every
// client runs this in the background; `strata gc` runs it once for volumes no client keeps up.
import type { ChunkStore } from '../chunk/store.js';
import type { Meta } from '../meta/meta.js';

const BATCH = 256;

/** Delete what is pending, batch by batch; returns how many slices went. `stop` ends it between
 * batches (nothing is left half-done: a slice is confirmed only once all its blocks are gone). */
export async function reclaimSlices(meta: Pick<Meta, 'pendingSliceDeletes' | 'confirmSliceDeletes'>, store: Pick<ChunkStore, 'deleteSlice'>, stop?: () => boolean, deleted?: (slice: { id: number; size: number }) => void): Promise<number> {
  let done = 0;
  for (;;) {
    if (stop?.()) return done;
    const batch = await meta.pendingSliceDeletes(BATCH);
    if (batch.length === 0) return done;
    for (const s of batch) {
      await store.deleteSlice(s.id, s.size);
      deleted?.(s);
    }
    await meta.confirmSliceDeletes(batch.map((s) => s.id));
    done += batch.length;
    if (batch.length < BATCH) return done;
  }
}
