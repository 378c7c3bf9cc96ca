// Read-ahead planning for one open file. The state lives in a caller-allocated area (one per
// open file) so that the module itself holds nothing mutable. Layout (little-endian):
//
//   header   0: magic u32   4: version u32   8: blockSize u32   12: maxWindowBlocks u32
//           16: clock u64 (LRU stamp source)  24: checksum u64 of every other byte
//   streams 32 + 32*s (s < 4):
//            0: lastEnd u64 (furthest byte the stream has read)
//            8: planned u64 (first block not yet handed out for prefetch)
//           16: stamp u64 (last use; 0 = free slot)   24: window u32 (blocks)
//           28: flags u32 (bit 0: grown back gently since memory pressure; bits 1-2: how many
//               reads have continued it, up to CONTINUATIONS)
//
// The checksum turns any scribble over the area (a stray write, a freed-and-reused state) into
// a reported error instead of silently wrong prefetching.

const ERR_CAP: i32 = -1;
const ERR_RANGE: i32 = -4;
const ERR_STATE: i32 = -6;

const MAGIC: u32 = 0x41525453; // "STRA" little-endian
const VERSION: u32 = 1;
const STATE_SIZE: usize = 160;
const STREAMS: usize = 4;
const STREAM_BASE: usize = 32;
const STREAM_SIZE: usize = 32;
const MIN_BLOCK: u32 = 64 << 10;
const MAX_BLOCK: u32 = 16 << 20;
const MAX_WINDOW: u32 = 1 << 20;
// FUSE splits a sequential read into 128 KiB requests served concurrently: they can arrive a
// few requests out of order, so reads this close to a stream still belong to it.
const REORDER_BYTES: u64 = 512 << 10;
const GENTLE: u32 = 1;
// A stream plans nothing until two reads have continued it. Random reads land within a block of
// one of four streams' ends often (one 4 KiB read in eight over a 256 MiB file of 4 MiB blocks),
// and planning on the first such read fetched a whole block nobody read each time; two in a row
// on one stream are rare. A forward scan with gaps (64 KiB every 1 MiB) still continues its
// stream, since each read lands within the window.
const CONTINUATIONS: u32 = 2;
const SEEN_SHIFT: u32 = 1;
const SEEN_MASK: u32 = 3 << SEEN_SHIFT;
const RANGE_RECORD: usize = 16; // start block u64, count u32, pad u32

/** Bytes of one planner state area. */
export function raStateSize(): u32 {
  return <u32>STATE_SIZE;
}

function stateHash(state: usize): u64 {
  let h: u64 = 0x9e3779b97f4a7c15;
  for (let p: usize = 0; p < STATE_SIZE; p += 8) {
    if (p == 24) continue;
    h = (h ^ load<u64>(state + p)) * 0xff51afd7ed558ccd;
    h ^= h >>> 32;
  }
  return h;
}

@inline function seal(state: usize): void {
  store<u64>(state, stateHash(state), 24);
}

function isValid(state: usize): bool {
  if (load<u32>(state) != MAGIC || load<u32>(state, 4) != VERSION) return false;
  const bs = load<u32>(state, 8);
  if (bs < MIN_BLOCK || bs > MAX_BLOCK || popcnt(bs) != 1) return false;
  const maxWindow = load<u32>(state, 12);
  if (maxWindow == 0 || maxWindow > MAX_WINDOW) return false;
  return load<u64>(state, 24) == stateHash(state);
}

/** Prepares a state area for a file read in blocks of `blockSize`, prefetching at most
 * `maxWindowBlocks` blocks ahead of the reader. */
export function raInit(state: usize, blockSize: u32, maxWindowBlocks: u32): void {
  memory.fill(state, 0, STATE_SIZE);
  store<u32>(state, MAGIC);
  store<u32>(state, VERSION, 4);
  store<u32>(state, blockSize, 8);
  store<u32>(state, maxWindowBlocks, 12);
  seal(state);
}

/**
 * Records a read of [offset, offset+length) and writes the block ranges to prefetch now:
 * blocks no earlier call handed out, never past fileSize. Returns how many range records were
 * written (0 or 1), or a negative code; on error the state is left unchanged.
 */
export function raOnRead(state: usize, offset: u64, length: u32, fileSize: u64, out: usize, cap: u32): i32 {
  if (!isValid(state)) return ERR_STATE;
  const end = offset + <u64>length;
  if (end < offset) return ERR_RANGE;
  if (length == 0) return 0;
  const shift = <u64>ctz(load<u32>(state, 8));
  const bsMask: u64 = (<u64>1 << shift) - 1;
  const maxWindow = load<u32>(state, 12);
  const clock = load<u64>(state, 16) + 1;

  // The stream this read continues: the one whose furthest read lies closest, within its
  // window ahead or the reorder tolerance either way.
  let best: i32 = -1;
  let bestDistance: u64 = u64.MAX_VALUE;
  for (let s: usize = 0; s < STREAMS; s++) {
    const sp = state + STREAM_BASE + s * STREAM_SIZE;
    if (load<u64>(sp, 16) == 0) continue;
    const lastEnd = load<u64>(sp);
    let tolerance = <u64>load<u32>(sp, 24) << shift;
    if (tolerance < REORDER_BYTES) tolerance = REORDER_BYTES;
    const low = lastEnd > tolerance ? lastEnd - tolerance : 0;
    if (offset < low || (offset > lastEnd && offset - lastEnd > tolerance)) continue;
    const distance = offset > lastEnd ? offset - lastEnd : lastEnd - offset;
    if (distance < bestDistance) {
      bestDistance = distance;
      best = <i32>s;
    }
  }

  const endBlock = (end + bsMask) >>> shift; // first block this read does not touch

  if (best < 0) {
    // A new stream (random access, or a second reader): it replaces the least recently used
    // one and plans nothing until a sequential hit shows it is worth it.
    let victim: usize = 0;
    let oldest: u64 = u64.MAX_VALUE;
    for (let s: usize = 0; s < STREAMS; s++) {
      const stamp = load<u64>(state + STREAM_BASE + s * STREAM_SIZE, 16);
      if (stamp < oldest) {
        oldest = stamp;
        victim = s;
      }
    }
    const sp = state + STREAM_BASE + victim * STREAM_SIZE;
    store<u64>(sp, end);
    store<u64>(sp, endBlock, 8);
    store<u64>(sp, clock, 16);
    store<u32>(sp, 1, 24);
    store<u32>(sp, 0, 28);
    store<u64>(state, clock, 16);
    seal(state);
    return 0;
  }

  const sp = state + STREAM_BASE + <usize>best * STREAM_SIZE;
  const lastEnd = load<u64>(sp);
  let planned = load<u64>(sp, 8);
  let window = load<u32>(sp, 24);
  let count: i32 = 0;

  const flags = load<u32>(sp, 28);
  const seen = (flags & SEEN_MASK) >>> SEEN_SHIFT;
  if (end > lastEnd && seen < CONTINUATIONS) {
    // Not yet shown sequential: only follow it.
    store<u64>(sp, end);
    store<u32>(sp, (flags & ~SEEN_MASK) | ((seen + 1) << SEEN_SHIFT), 28);
  } else if (end > lastEnd) {
    // A sequential hit: keep `window` blocks planned beyond the read.
    const fileBlocks = (fileSize + bsMask) >>> shift;
    let target = endBlock + <u64>window;
    if (target > fileBlocks) target = fileBlocks;
    const from = planned > endBlock ? planned : endBlock;
    if (target > from) {
      if (cap < 1) return ERR_CAP;
      store<u64>(out, from);
      store<u32>(out, <u32>(target - from), 8);
      store<u32>(out, 0, 12);
      planned = target;
      count = 1;
    }
    // Grow when the reader moves into a new block, so small reads do not inflate the window.
    // After memory pressure the window grows back one block at a time (else the next hit
    // would undo the halving at once).
    if (endBlock > ((lastEnd + bsMask) >>> shift)) {
      if (flags & GENTLE) window = window < maxWindow ? window + 1 : maxWindow;
      else window = window > maxWindow >>> 1 ? maxWindow : window << 1;
    }
    store<u64>(sp, end);
    store<u64>(sp, planned, 8);
    store<u32>(sp, window, 24);
  }
  // A read at or behind the stream's furthest point (reordered, re-read): it only keeps the
  // stream alive.
  store<u64>(sp, clock, 16);
  store<u64>(state, clock, 16);
  seal(state);
  return count;
}

/** Memory is short: halve every stream's window (at least one block); it then grows back
 * by one block per block read instead of doubling. */
export function raPressure(state: usize): i32 {
  if (!isValid(state)) return ERR_STATE;
  for (let s: usize = 0; s < STREAMS; s++) {
    const sp = state + STREAM_BASE + s * STREAM_SIZE;
    if (load<u64>(sp, 16) == 0) continue;
    const window = load<u32>(sp, 24);
    store<u32>(sp, window > 1 ? window >>> 1 : 1, 24);
    store<u32>(sp, load<u32>(sp, 28) | GENTLE, 28);
  }
  seal(state);
  return 0;
}
