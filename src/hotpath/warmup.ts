// V8 first runs WebAssembly through its baseline compiler and moves a function to the optimizing
// one only after it has used up a budget of work. The per-read functions (slice resolution, range
// splitting, read-ahead planning) do little work per call, so for the first gigabyte or so a
// process reads them at baseline speed (measured: first 1 GiB read 2.8 GB/s, after warm-up
// 3.6 GB/s). A few milliseconds of calls at start spend that budget up front.
import { hot } from './memory.js';
import { xxh3 } from './checksum.js';
import { ReadAheadPlanner } from './readahead.js';
import { resolveSlices, splitRange } from './slices.js';

const ROUNDS = 300;
let done = false;

/** Run the data path's hot-path functions enough to get them optimized (once per process). */
export function warmUpHotPath(): void {
  if (done) return;
  done = true;
  const block = hot().allocBuffer(64 * 1024);
  const planner = new ReadAheadPlanner(64 * 1024, 1024 * 1024);
  const slices = [
    { id: 1, size: 4 << 20, pos: 0, off: 0, len: 4 << 20 },
    { id: 2, size: 1000, pos: 5, off: 0, len: 1000 },
  ];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      xxh3(block, BigInt(i));
      resolveSlices(slices, i, 4 << 20, 4 << 20);
      splitRange(i, 1 << 20, 1 << 26);
      planner.onRead((i % 64) * 65536, 65536, 64 << 20);
    }
  } finally {
    planner.close();
    hot().releaseBuffer(block);
  }
}
