import { FreeRanges } from './free-ranges.js';
import { instantiate, newPrivateMemory, newSharedMemory, PAGE, MAX_PAGES, SCRATCH_SIZE, type WasmExports } from './instance.js';

const ALIGN = 64; // cache line; also keeps v128 loads aligned
const MIN_CLASS = 64;
/** Up to this size, buffers come in power-of-two classes with free lists of their own. */
const SMALL_MAX = 64 * 1024;
/** Larger ones take exactly their size, rounded to this, from one pool of free ranges. */
const LARGE_ALIGN = 4096;
const MAX_SIZE = 2 ** 31; // 2 GiB

function smallClass(size: number): number {
  let c = MIN_CLASS;
  while (c < size) c *= 2;
  return c;
}

/**
 * A WebAssembly memory with the WASM instance that runs on it, and an allocator for buffers
 * that live inside it so that bytes are put there once (read straight into them) and hashed
 * where they lie. Small buffers come in power-of-two classes with free lists; large ones (block
 * buffers) from address-ordered free ranges that merge when freed (free-ranges.ts), so what the
 * heap holds follows the most that was live at once, whatever sizes came and went. The main
 * thread has one over a private memory (see newPrivateMemory); the worker pool has one over a
 * shared memory.
 */
export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmExports;
  readonly scratch: number;
  private readonly heap: FreeRanges;
  private readonly small = new Map<number, number[]>();
  /** address -> size class (small, > 0) or minus the size taken (large). */
  private readonly live = new Map<number, number>();
  private readonly buffers = new Set<ArrayBufferLike>();
  private bytes: Uint8Array;
  #liveBytes = 0;
  /** What the heap calls to make room up to an address. */
  private readonly grow = (end: number): void => this.ensure(end);

  constructor(shared: boolean) {
    // Without the address space for a private memory, a shared one still works, only slower.
    this.memory = (shared ? null : newPrivateMemory()) ?? newSharedMemory();
    this.exports = instantiate(this.memory);
    this.heap = new FreeRanges(Math.ceil(this.exports.heapBase() / ALIGN) * ALIGN);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.buffers.add(this.memory.buffer);
    this.scratch = this.alloc(SCRATCH_SIZE);
  }

  /** Reserve `size` bytes; returns their address. Contents are undefined. */
  alloc(size: number): number {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
    if (size > MAX_SIZE) throw new RangeError(`size ${size} is larger than the hot path can hold`);
    let addr: number | undefined;
    if (size <= SMALL_MAX) {
      const cls = smallClass(Math.max(size, 1));
      addr = this.small.get(cls)?.pop() ?? this.heap.take(cls, this.grow);
      this.live.set(addr, cls);
      this.#liveBytes += cls;
    } else {
      const taken = Math.ceil(size / LARGE_ALIGN) * LARGE_ALIGN;
      addr = this.heap.take(taken, this.grow);
      this.live.set(addr, -taken);
      this.#liveBytes += taken;
    }
    return addr;
  }

  release(addr: number): void {
    const cls = this.live.get(addr);
    if (cls === undefined) throw new RangeError(`address ${addr} is not a live hot-path allocation (double free?)`);
    this.live.delete(addr);
    this.#liveBytes -= Math.abs(cls);
    if (cls < 0) {
      this.heap.give(addr, -cls);
      return;
    }
    let list = this.small.get(cls);
    if (!list) this.small.set(cls, (list = []));
    list.push(addr);
  }

  /** A Buffer whose bytes live in WASM memory; give it back with releaseBuffer. */
  allocBuffer(size: number): Buffer {
    const addr = this.alloc(size);
    return Buffer.from(this.memory.buffer, addr, size);
  }

  releaseBuffer(buf: Uint8Array): void {
    if (!this.owns(buf)) throw new RangeError('buffer was not allocated by the hot path');
    this.release(buf.byteOffset);
  }

  /** True when the view's bytes already lie in WASM memory (no copy needed). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** A current Uint8Array over all of WASM memory (refreshed after growth). */
  u8(): Uint8Array {
    if (this.bytes.byteLength !== this.memory.buffer.byteLength) {
      this.bytes = new Uint8Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
    return this.bytes;
  }

  dataView(): DataView {
    const u8 = this.u8();
    return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  }

  /** Bytes allocated and not yet released (for leak checks). */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** End of the heap's space in use or held for reuse (for leak checks and stats). */
  get reserved(): number {
    return this.heap.top;
  }

  /** The furthest the heap has reached: the memory it has touched. */
  get highWater(): number {
    return this.heap.highWater;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) throw new RangeError(`hot path memory exhausted (wanted ${end} bytes)`);
    // Grow geometrically so a stream of allocations does not grow page by page.
    const want = Math.min(MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4)));
    this.memory.grow(want);
    this.u8();
  }
}

let main: WasmMemory | undefined;

/** The process's main-thread hot-path memory and instance, created on first use. */
export function hot(): WasmMemory {
  return (main ??= new WasmMemory(false));
}
