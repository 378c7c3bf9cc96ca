// Free space of the hot-path heap for large buffers: address-ordered ranges, merged with their
// neighbours when freed, taken best-fit. Per-size free lists kept every size's peak count for
// good, so a workload that moved through many block sizes (files of many lengths) held the sum
// of those peaks; here freed space serves any size, and space freed at the top lowers the top.

export interface Range {
  addr: number;
  size: number;
}

export class FreeRanges {
  /** Free ranges below `top`, sorted by address, never adjacent (merged). */
  readonly #free: Range[] = [];
  #top: number;
  #highWater: number;

  constructor(base: number) {
    this.#top = base;
    this.#highWater = base;
  }

  /** End of the space ever handed out and not yet given back at the top. */
  get top(): number {
    return this.#top;
  }

  /** The highest `top` has been: the most memory this heap has touched. */
  get highWater(): number {
    return this.#highWater;
  }

  get freeRanges(): readonly Range[] {
    return this.#free;
  }

  /** An address for `size` bytes: the smallest free range that fits, else the top. `grow(end)`
   * must make [0, end) usable or throw. */
  take(size: number, grow: (end: number) => void): number {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const r = this.#free[i]!;
      if (r.size >= size && (best < 0 || r.size < this.#free[best]!.size)) best = i;
    }
    if (best >= 0) {
      const r = this.#free[best]!;
      const addr = r.addr;
      if (r.size === size) this.#free.splice(best, 1);
      else this.#free[best] = { addr: addr + size, size: r.size - size };
      return addr;
    }
    // No free range ends at the top (give() lowers the top instead): new space starts there.
    const addr = this.#top;
    grow(addr + size);
    this.#top = addr + size;
    if (this.#top > this.#highWater) this.#highWater = this.#top;
    return addr;
  }

  /** Give [addr, addr + size) back. */
  give(addr: number, size: number): void {
    // The first free range after addr.
    let lo = 0;
    let hi = this.#free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#free[mid]!.addr < addr) lo = mid + 1;
      else hi = mid;
    }
    let start = addr;
    let end = addr + size;
    let from = lo;
    let count = 0;
    const before = this.#free[lo - 1];
    if (before && before.addr + before.size === start) {
      start = before.addr;
      from = lo - 1;
      count++;
    }
    const after = this.#free[lo];
    if (after && after.addr === end) {
      end = after.addr + after.size;
      count++;
    }
    if (end === this.#top) {
      this.#free.splice(from, count);
      this.#top = start;
    } else {
      this.#free.splice(from, count, { addr: start, size: end - start });
    }
  }
}
