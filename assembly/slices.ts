// Slice geometry: cutting byte ranges at unit boundaries, and resolving a chunk's overlapping
// slices (newest wins) into the block pieces a read must fetch. Pure functions over addresses;
// every record layout is documented next to its reader in src/hotpath/slices.ts.

// Codes shared with src/hotpath/slices.ts.
const ERR_CAP: i32 = -1; // output capacity too small: grow it and call again
const ERR_SCRATCH: i32 = -2; // scratch smaller than resolveScratchSize(n)
const ERR_BLOCK_SIZE: i32 = -3; // block size not a power of two in 64 KiB..16 MiB
const ERR_RANGE: i32 = -4; // range does not fit (unit 0, overflow, past the chunk end)
const ERR_SLICE_BASE: i32 = -1000; // -1000 - i: slice record i is invalid

const CHUNK_SIZE: u64 = 64 << 20;
const MIN_BLOCK: u32 = 64 << 10;
const MAX_BLOCK: u32 = 16 << 20;

const RANGE_RECORD: usize = 32; // index u64, offset u64, length u64, srcOffset u64
const SLICE_RECORD: usize = 24; // id u64, size u32, pos u32, off u32, len u32
const PIECE_RECORD: usize = 32; // sliceId u64, blockIndex u32, blockLength u32, blockOffset u32, length u32, pos u32, pad u32

/**
 * Cuts [offset, offset+length) at multiples of `unit` into records
 * (unit index, offset in the unit, length, offset from the range start).
 * Returns the number of records, or a negative code.
 */
export function splitRange(offset: u64, length: u64, unit: u64, out: usize, cap: u32): i32 {
  if (unit == 0) return ERR_RANGE;
  const end = offset + length;
  if (end < offset) return ERR_RANGE;
  if (length == 0) return 0;
  let index = offset / unit;
  const count = (end - 1) / unit - index + 1;
  if (count > <u64>i32.MAX_VALUE) return ERR_RANGE;
  if (count > <u64>cap) return ERR_CAP;
  let at = offset;
  let inUnit = offset - index * unit;
  let p = out;
  while (at < end) {
    let n = unit - inUnit;
    const left = end - at;
    if (n > left) n = left;
    store<u64>(p, index);
    store<u64>(p, inUnit, 8);
    store<u64>(p, n, 16);
    store<u64>(p, at - offset, 24);
    p += RANGE_RECORD;
    at += n;
    index++;
    inUnit = 0;
  }
  return <i32>count;
}

// Scratch layout for n slices: radix counters; two event buffers of 2n u64 (sorted ping-pong);
// per slice its first and last coordinate (u32 each); per coordinate (at most 2n) its position,
// the slice owning the segment that starts there, and a union-find "next unpainted" link.
const COUNTERS: usize = 512 * 4;

/** Bytes of scratch resolveSlices needs for `n` slice records. */
export function resolveScratchSize(n: u32): u32 {
  const need: u64 = <u64>COUNTERS + 32 * <u64>n + 8 * <u64>n + 24 * <u64>n + 16;
  return need > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>need;
}

// An event is one u64: high half = position relative to the range start, low half =
// slice index << 1 | 1 for a start, | 0 for an end. Only the position is sorted on.
@inline function eventPos(e: u64): u32 {
  return <u32>(e >>> 32);
}

function insertionSort(ev: usize, m: usize): void {
  for (let i: usize = 1; i < m; i++) {
    const e = load<u64>(ev + (i << 3));
    const key = eventPos(e);
    let j = i;
    while (j > 0) {
      const prev = load<u64>(ev + ((j - 1) << 3));
      if (eventPos(prev) <= key) break;
      store<u64>(ev + (j << 3), prev);
      j--;
    }
    store<u64>(ev + (j << 3), e);
  }
}

/** Sorts m events by position (< 2^27) with a three-pass 9-bit LSD radix sort.
 * Returns the buffer (ev or tmp) that holds the sorted events. */
function radixSort(ev: usize, tmp: usize, m: usize, counters: usize): usize {
  let src = ev;
  let dst = tmp;
  for (let shift: u32 = 0; shift < 27; shift += 9) {
    memory.fill(counters, 0, COUNTERS);
    for (let i: usize = 0; i < m; i++) {
      const d = <usize>((eventPos(load<u64>(src + (i << 3))) >>> shift) & 511);
      store<u32>(counters + (d << 2), load<u32>(counters + (d << 2)) + 1);
    }
    let sum: u32 = 0;
    for (let d: usize = 0; d < 512; d++) {
      const c = load<u32>(counters + (d << 2));
      store<u32>(counters + (d << 2), sum);
      sum += c;
    }
    for (let i: usize = 0; i < m; i++) {
      const e = load<u64>(src + (i << 3));
      const d = <usize>((eventPos(e) >>> shift) & 511);
      const at = load<u32>(counters + (d << 2));
      store<u32>(counters + (d << 2), at + 1);
      store<u64>(dst + (<usize>at << 3), e);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Root of coordinate `c` in the "next unpainted segment" forest, halving paths on the way. */
@inline function findNext(next: usize, c: u32): u32 {
  let p = load<u32>(next + (<usize>c << 2));
  while (p != c) {
    const gp = load<u32>(next + (<usize>p << 2));
    store<u32>(next + (<usize>c << 2), gp);
    c = gp;
    p = load<u32>(next + (<usize>c << 2));
  }
  return c;
}

/** Appends a hole [a, b), merged into the previous piece when that is an adjacent hole.
 * Returns the new piece count or ERR_CAP. */
function emitHole(out: usize, count: i32, cap: u32, a: u32, b: u32): i32 {
  if (count > 0) {
    const last = out + <usize>(count - 1) * PIECE_RECORD;
    if (load<u64>(last) == 0 && load<u32>(last, 24) + load<u32>(last, 20) == a) {
      store<u32>(last, load<u32>(last, 20) + (b - a), 20);
      return count;
    }
  }
  if (<u32>count >= cap) return ERR_CAP;
  const p = out + <usize>count * PIECE_RECORD;
  store<u64>(p, 0);
  store<u32>(p, 0, 8);
  store<u32>(p, 0, 12);
  store<u32>(p, 0, 16);
  store<u32>(p, b - a, 20);
  store<u32>(p, a, 24);
  store<u32>(p, 0, 28);
  return count + 1;
}

/** Appends chunk bytes [a, b) of slice record `rec`, cut at its block boundaries. */
function emitData(out: usize, count: i32, cap: u32, rec: usize, a: u32, b: u32, shift: u32): i32 {
  const id = load<u64>(rec);
  const size = load<u32>(rec, 8);
  const bs: u32 = 1 << shift;
  let sliceOff = load<u32>(rec, 16) + (a - load<u32>(rec, 12));
  let p = a;
  while (p < b) {
    const block = sliceOff >>> shift;
    const inBlock = sliceOff & (bs - 1);
    const blockStart = block << shift;
    const blockLength = size - blockStart < bs ? size - blockStart : bs;
    let n = bs - inBlock;
    if (n > b - p) n = b - p;
    let merged = false;
    if (count > 0) {
      // The same stored bytes continuing (e.g. one slice listed twice back to back): one piece.
      const last = out + <usize>(count - 1) * PIECE_RECORD;
      if (
        load<u64>(last) == id &&
        load<u32>(last, 8) == block &&
        load<u32>(last, 12) == blockLength &&
        load<u32>(last, 16) + load<u32>(last, 20) == inBlock &&
        load<u32>(last, 24) + load<u32>(last, 20) == p
      ) {
        store<u32>(last, load<u32>(last, 20) + n, 20);
        merged = true;
      }
    }
    if (!merged) {
      if (<u32>count >= cap) return ERR_CAP;
      const q = out + <usize>count * PIECE_RECORD;
      store<u64>(q, id);
      store<u32>(q, block, 8);
      store<u32>(q, blockLength, 12);
      store<u32>(q, inBlock, 16);
      store<u32>(q, n, 20);
      store<u32>(q, p, 24);
      store<u32>(q, 0, 28);
      count++;
    }
    p += n;
    sliceOff += n;
  }
  return count;
}

@inline function emit(out: usize, count: i32, cap: u32, slices: usize, winner: i32, a: u32, b: u32, shift: u32): i32 {
  if (winner < 0) return emitHole(out, count, cap, a, b);
  const rec = slices + <usize>winner * SLICE_RECORD;
  if (load<u64>(rec) == 0) return emitHole(out, count, cap, a, b);
  return emitData(out, count, cap, rec, a, b, shift);
}

/**
 * Resolves the n slice records at `slices` (append order: later records are newer) for chunk
 * bytes [start, start+length) into ordered piece records, each within one block of one slice;
 * bytes no slice covers, and id-0 slices, come out as holes (sliceId 0), adjacent holes merged.
 * The slices' endpoints, sorted, cut the range into elementary segments; slices are painted
 * newest first onto segments not yet painted, found through a union-find "next unpainted"
 * forest, so each segment is painted once: linear (radix sort, near-constant finds) whatever
 * the overlap.
 */
export function resolveSlices(
  slices: usize, n: u32, start: u32, length: u32, blockSize: u32,
  out: usize, cap: u32, scratch: usize, scratchLen: u32,
): i32 {
  if (blockSize < MIN_BLOCK || blockSize > MAX_BLOCK || popcnt(blockSize) != 1) return ERR_BLOCK_SIZE;
  const end64 = <u64>start + <u64>length;
  if (end64 > CHUNK_SIZE) return ERR_RANGE;
  if (n > 0x3fff_ffff) return ERR_SCRATCH;
  if (scratchLen < resolveScratchSize(n)) return ERR_SCRATCH;
  const end = <u32>end64;
  const shift = ctz(blockSize);

  const counters = scratch;
  const ev = scratch + COUNTERS;
  const tmp = ev + (<usize>n << 4);
  const first = tmp + (<usize>n << 4); // per slice: coordinate of its start (u32)
  const last = first + (<usize>n << 2); // per slice: coordinate of its end (u32)
  const coord = last + (<usize>n << 2); // per coordinate: position (u32)
  const owner = coord + (<usize>n << 3); // per coordinate: painting slice + 1, 0 = none (u32)
  const next = owner + (<usize>n << 3); // per coordinate: union-find link (u32)

  // Validate every record, and turn those meeting the range into start/end events.
  let m: usize = 0;
  for (let i: u32 = 0; i < n; i++) {
    const rec = slices + <usize>i * SLICE_RECORD;
    const size = load<u32>(rec, 8);
    const pos = load<u32>(rec, 12);
    const off = load<u32>(rec, 16);
    const len = load<u32>(rec, 20);
    if (<u64>off + <u64>len > <u64>size || <u64>pos + <u64>len > CHUNK_SIZE) return ERR_SLICE_BASE - <i32>i;
    store<u32>(first + (<usize>i << 2), 0);
    store<u32>(last + (<usize>i << 2), 0);
    if (len == 0 || length == 0) continue;
    let a = pos;
    let b = pos + len;
    if (a < start) a = start;
    if (b > end) b = end;
    if (a >= b) continue;
    store<u64>(ev + (m << 3), (<u64>(a - start) << 32) | (<u64>i << 1) | 1);
    store<u64>(ev + ((m + 1) << 3), (<u64>(b - start) << 32) | (<u64>i << 1));
    m += 2;
  }
  if (length == 0) return 0;

  let sorted = ev;
  if (m < 64) insertionSort(ev, m);
  else sorted = radixSort(ev, tmp, m, counters);

  // Distinct positions become coordinates; each slice learns its first and last one.
  let coords: u32 = 0;
  for (let k: usize = 0; k < m; k++) {
    const e = load<u64>(sorted + (k << 3));
    const rel = eventPos(e);
    if (coords == 0 || load<u32>(coord + (<usize>(coords - 1) << 2)) != rel) {
      store<u32>(coord + (<usize>coords << 2), rel);
      store<u32>(owner + (<usize>coords << 2), 0);
      store<u32>(next + (<usize>coords << 2), coords);
      coords++;
    }
    const idx = <usize>(<u32>e >>> 1);
    store<u32>((e & 1 ? first : last) + (idx << 2), coords - 1);
  }

  // Newest first, each slice claims the unpainted segments between its coordinates.
  for (let i = <i32>n - 1; i >= 0; i--) {
    const hi = load<u32>(last + (<usize>i << 2));
    if (hi == 0) continue; // no part in the range (a slice that has one ends at coordinate >= 1)
    let c = findNext(next, load<u32>(first + (<usize>i << 2)));
    while (c < hi) {
      store<u32>(owner + (<usize>c << 2), <u32>i + 1);
      store<u32>(next + (<usize>c << 2), c + 1);
      c = findNext(next, c + 1);
    }
  }

  let count: i32 = 0;
  let cur = start;
  for (let c: u32 = 0; c < coords; c++) {
    const q = start + load<u32>(coord + (<usize>c << 2));
    const w = c == 0 ? -1 : <i32>load<u32>(owner + (<usize>(c - 1) << 2)) - 1;
    if (q > cur) {
      count = emit(out, count, cap, slices, w, cur, q, shift);
      if (count < 0) return count;
      cur = q;
    }
  }
  if (end > cur) {
    count = emit(out, count, cap, slices, -1, cur, end, shift);
  }
  return count;
}
