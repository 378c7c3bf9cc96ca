// How many bytes of a chunk hold stored data: a byte does when the newest slice covering it is
// not a hole (id 0). Engines keep each file's stored bytes with it (st_blocks, used space,
// capacity), updating them as slices are added and dropped; this is the one place that counts.

/** A slice's visible range in its chunk; id 0 is a hole. */
export interface Span {
  id: number;
  pos: number;
  len: number;
}

/** Bytes of [from, to) whose newest covering span is data. `spans` are oldest first. */
export function dataBytesIn(spans: readonly Span[], from: number, to: number): number {
  // Newest first: each span takes what no newer span already took inside the window.
  const taken: [number, number][] = [];
  let open = to - from;
  let data = 0;
  for (let i = spans.length - 1; i >= 0 && open > 0; i--) {
    const s = spans[i]!;
    const a = Math.max(from, s.pos);
    const b = Math.min(to, s.pos + s.len);
    if (a >= b) continue;
    const gained = take(taken, a, b);
    open -= gained;
    if (s.id !== 0) data += gained;
  }
  return data;
}

/** Add [a, b) to the sorted, disjoint ranges in `taken`; returns how many of its bytes were new. */
function take(taken: [number, number][], a: number, b: number): number {
  let gained = 0;
  let at = a;
  let first = taken.length;
  let last = -1;
  for (let k = 0; k < taken.length; k++) {
    const [lo, hi] = taken[k]!;
    if (hi < a) continue;
    if (lo > b) break;
    // [lo, hi] touches or overlaps [a, b]: it merges into the new range.
    if (k < first) first = k;
    last = k;
    if (lo > at) gained += Math.min(lo, b) - at;
    at = Math.max(at, hi);
  }
  if (at < b) gained += b - at;
  if (last < 0) {
    let k = 0;
    while (k < taken.length && taken[k]![0] < a) k++;
    taken.splice(k, 0, [a, b]);
  } else {
    taken.splice(first, last - first + 1, [Math.min(a, taken[first]![0]), Math.max(b, taken[last]![1])]);
  }
  return gained;
}

/** Bytes holding data in whole chunks: `spans` ordered by chunk, oldest first within each. */
export function dataBytesInChunks(spans: readonly (Span & { chunk: number })[], chunkSize: number): number {
  let total = 0;
  for (let i = 0; i < spans.length;) {
    let j = i;
    while (j < spans.length && spans[j]!.chunk === spans[i]!.chunk) j++;
    total += dataBytesIn(spans.slice(i, j), 0, chunkSize);
    i = j;
  }
  return total;
}
