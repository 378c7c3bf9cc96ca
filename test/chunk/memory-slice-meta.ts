// A test double of the metadata side of the data path: slices per chunk in append order, file
// lengths, and a record of every commit (so tests can check what reached metadata).
import type { Slice, SliceMeta } from '../../src/chunk/store.js';

export interface Commit {
  inode: number;
  chunkIndex: number;
  slice: Slice;
  fileEnd: number;
}

export class MemorySliceMeta implements SliceMeta {
  readonly commits: Commit[] = [];
  /** Slices writers gave up on. */
  readonly abandoned: { id: number; size: number }[] = [];
  private readonly chunks = new Map<string, Slice[]>();
  private readonly lengths = new Map<number, number>();

  constructor(private nextId = 1) {}

  async readChunk(inode: number, chunkIndex: number): Promise<Slice[]> {
    return (this.chunks.get(`${inode}:${chunkIndex}`) ?? []).map((s) => ({ ...s }));
  }

  async newSliceId(): Promise<number> {
    return this.nextId++;
  }

  async commitSlice(inode: number, chunkIndex: number, slice: Slice, fileEnd: number): Promise<void> {
    const key = `${inode}:${chunkIndex}`;
    const list = this.chunks.get(key) ?? [];
    list.push({ ...slice });
    this.chunks.set(key, list);
    this.commits.push({ inode, chunkIndex, slice: { ...slice }, fileEnd });
    this.lengths.set(inode, Math.max(this.length(inode), fileEnd));
  }

  async appendSlice(inode: number, slice: { id: number; size: number }): Promise<number> {
    const CHUNK = 64 * 1024 * 1024;
    const at = this.length(inode);
    for (let off = 0; off < slice.size;) {
      const pos = (at + off) % CHUNK;
      const len = Math.min(slice.size - off, CHUNK - pos);
      await this.commitSlice(inode, Math.floor((at + off) / CHUNK), { id: slice.id, size: slice.size, pos, off, len }, at + off + len);
      off += len;
    }
    return at;
  }

  async abandonSlice(slice: { id: number; size: number }): Promise<void> {
    this.abandoned.push({ ...slice });
  }

  /** Stand-in for truncate/setattr in tests that need a file longer than its data. */
  setLength(inode: number, length: number): void {
    this.lengths.set(inode, length);
  }

  length(inode: number): number {
    return this.lengths.get(inode) ?? 0;
  }
}
