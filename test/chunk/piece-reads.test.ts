// Random reads of a file bigger than the block memory: a block that was verified whole and then
// dropped having been read only in parts is read again by just the 32 KiB pieces a read touches,
// each checked against sums taken from the verified block. The bytes must be the file's, and a
// damaged piece must still be an EIO naming the block, never its bytes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { createChunkStore, type ObjectChunkStore } from '../../src/chunk/index.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BS = MiB;
const BLOCKS = 8;

let fx: TempObjects;
let store: ObjectChunkStore;
let meta: MemorySliceMeta;
let data: Buffer;
beforeEach(async () => {
  fx = await tempObjects();
  // Two blocks of LRU (the other half of the memory is for read-ahead).
  store = createChunkStore(fx.objects, { blockSize: BS, memoryCacheSize: 4 * BS }) as ObjectChunkStore;
  meta = new MemorySliceMeta();
  data = Buffer.alloc(BLOCKS * BS);
  fillPattern(data, 7);
  const w = store.openWriter(1, meta);
  await w.write(0, data);
  await w.close();
});
afterEach(async () => {
  await store.close();
  await fx.cleanup();
});

async function read(offset: number, length: number): Promise<Buffer> {
  const target = Buffer.alloc(length, 0xee);
  expect(await store.read(1, offset, target, meta.length(1), meta)).toBe(length);
  return target;
}

async function view(offset: number, length: number): Promise<Buffer> {
  return store.readView(1, offset, length, meta.length(1), meta, (bytes) => Buffer.from(bytes));
}

/** 4 KiB of every block, so each is loaded whole, read sparsely and (but the last two) dropped. */
async function touchEveryBlock(): Promise<void> {
  for (let b = 0; b < BLOCKS; b++) expect((await read(b * BS + 8 * KiB, 4 * KiB)).equals(data.subarray(b * BS + 8 * KiB, b * BS + 12 * KiB))).toBe(true);
}

describe('reads by pieces', () => {
  it('read a dropped block again by its pieces alone, with the same bytes as the file, through read and readView', async () => {
    await touchEveryBlock();
    const loaded = store.stats().blocksRead;
    expect(loaded).toBe(BLOCKS);
    // Ranges inside one piece, across a piece boundary, at the block's end, and a whole piece.
    const ranges = [[100 * KiB, 4 * KiB], [3 * BS + 32 * KiB - 100, 300], [5 * BS - 4 * KiB, 4 * KiB], [BS + 64 * KiB, 32 * KiB], [2 * BS + 1, 70 * KiB]];
    for (const [offset, length] of ranges) {
      const want = data.subarray(offset!, offset! + length!);
      expect((await read(offset!, length!)).equals(want), `read ${offset}+${length}`).toBe(true);
      expect((await view(offset!, length!)).equals(want), `readView ${offset}+${length}`).toBe(true);
    }
    expect(store.stats().blocksRead).toBe(loaded);
    expect(store.stats().pieceReads).toBe(2 * ranges.length);
    expect(store.stats().checksumErrors).toBe(0);
  });

  it('a damaged piece of a dropped block is EIO naming the block, counted, and its bytes are never handed out', async () => {
    await touchEveryBlock();
    const key = store.blockKeys(meta.commits[0]!.slice.id, BLOCKS * BS)[1]!;
    const bytes = await readFile(fx.fileOf(key));
    bytes[40 * KiB] ^= 1;
    await writeFile(fx.fileOf(key), bytes);

    let called = false;
    await expect(store.readView(1, BS + 36 * KiB, 8 * KiB, meta.length(1), meta, () => { called = true; }))
      .rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining(key) });
    expect(called).toBe(false);
    const target = Buffer.alloc(4 * KiB, 0xee);
    await expect(store.read(1, BS + 40 * KiB, target, meta.length(1), meta)).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining(key) });
    expect(target.every((x) => x === 0)).toBe(true);
    expect(store.stats().checksumErrors).toBe(2);
    // Other blocks still read by their pieces.
    expect((await view(2 * BS + 40 * KiB, 4 * KiB)).equals(data.subarray(2 * BS + 40 * KiB, 2 * BS + 44 * KiB))).toBe(true);
  });

  it('a block read through, not sparsely, is loaded whole again: a sequential reader pays nothing for sums', async () => {
    for (let at = 0; at < BLOCKS * BS; at += 256 * KiB) expect((await read(at, 256 * KiB)).equals(data.subarray(at, at + 256 * KiB))).toBe(true);
    const loaded = store.stats().blocksRead;
    expect((await read(10 * KiB, 4 * KiB)).equals(data.subarray(10 * KiB, 14 * KiB))).toBe(true);
    expect(store.stats().pieceReads).toBe(0);
    expect(store.stats().blocksRead).toBe(loaded + 1);
  });
});
