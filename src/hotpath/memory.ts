import { instantiate, newPrivateMemory, newSharedMemory, PAGE, MAX_PAGES, SCRATCH_SIZE, type WasmExports } from './instance.js';

const ALIGN = 64; // cache line; also keeps v128 loads aligned
const MIN_CLASS = 64;
const MAX_CLASS = 2 ** 31; // 2 GiB
const FINE_FROM = 1024 * 1024;

/** The size actually reserved for `size` bytes: a power of two up to 1 MiB, then steps of an
 * eighth of the power of two below — a 4 MiB block plus its 8-byte checksum takes 4.5 MiB, not 8. */
function sizeClass(size: number): number {
  let c = MIN_CLASS;
  while (c < size) c *= 2;
  if (c <= FINE_FROM) return c;
  const step = c / 16;
  return Math.ceil(size / step) * step;
}

/**
 * A WebAssembly memory with the WASM instance that runs on it, and an allocator for buffers
 * that live inside it so that bytes are put there once (read straight into them) and hashed
 * where they lie. Size classes (see sizeClass) with free lists: block buffers are reused, so
 * memory stays flat however many calls are made. The main thread has one over a private memory
 * (see newPrivateMemory); the worker pool has one over a shared memory.
 */
export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmExports;
  readonly scratch: number;
  private top: number;
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, number>(); // address -> size class
  private readonly buffers = new Set<ArrayBufferLike>();
  private bytes: Uint8Array;

  constructor(shared: boolean) {
    // Without the address space for a private memory, a shared one still works, only slower.
    this.memory = (shared ? null : newPrivateMemory()) ?? newSharedMemory();
    this.exports = instantiate(this.memory);
    this.top = Math.ceil(this.exports.heapBase() / ALIGN) * ALIGN;
    this.bytes = new Uint8Array(this.memory.buffer);
    this.buffers.add(this.memory.buffer);
    this.scratch = this.alloc(SCRATCH_SIZE);
  }

  /** Reserve `size` bytes; returns their address. Contents are undefined. */
  alloc(size: number): number {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
    const cls = sizeClass(Math.max(size, 1));
    if (cls > MAX_CLASS) throw new RangeError(`size ${size} is larger than the hot path can hold`);
    const list = this.free.get(cls);
    let addr = list?.pop();
    if (addr === undefined) {
      addr = this.top;
      this.ensure(addr + cls);
      this.top = addr + cls;
    }
    this.live.set(addr, cls);
    return addr;
  }

  release(addr: number): void {
    const cls = this.live.get(addr);
    if (cls === undefined) throw new RangeError(`address ${addr} is not a live hot-path allocation (double free?)`);
    this.live.delete(addr);
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
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

  /** Bytes reserved so far (for leak checks and stats). */
  get reserved(): number {
    return this.top;
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
