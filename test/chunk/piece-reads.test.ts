// Random reads of a file bigger than the block memory: a block that was verified whole and then
// dropped having been read only in parts is read again by just the 32 KiB pieces a read touches,
// each checked against sums taken from the verified block. The bytes must be the file's, and a
// damaged piece must still be an EIO naming the block, never its bytes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChunkStore, type ObjectChunkStore } from '../../src/chunk/index.js';
import { MemorySliceMeta } from './memory-slice-meta.js';
import { fillPattern, tempObjects, type TempObjects } from './fixture.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BS = MiB;
// Eight whole blocks and a tail block of 100,000 bytes (three whole pieces and a short one).
const BLOCKS = 9;
const TAIL = 100_000;
const LENGTH = (BLOCKS - 1) * BS + TAIL;

let fx: TempObjects;
let store: ObjectChunkStore;
let meta: MemorySliceMeta;
let data: Buffer;
let cacheDir: string | null = null;

/** A store with two blocks of LRU (the other half of its memory is for read-ahead), holding the
 * file as inode 1; with a cache disk that also keeps written blocks. */
async function open(withCache: boolean): Promise<void> {
  cacheDir = withCache ? await mkdtemp(join(tmpdir(), 'strata-piece-cache-')) : null;
  store = createChunkStore(fx.objects, {
    blockSize: BS, memoryCacheSize: 4 * BS, ...(cacheDir ? { cache: { dirs: [cacheDir], size: 64 * MiB, verify: 'full' as const, cacheLargeWrite: true } } : {}),
  }) as ObjectChunkStore;
  meta = new MemorySliceMeta();
  data = Buffer.alloc(LENGTH);
  fillPattern(data, 7);
  const w = store.openWriter(1, meta);
  await w.write(0, data);
  await w.close();
}

beforeEach(async () => {
  fx = await tempObjects();
});
afterEach(async () => {
  await store.close();
  await fx.cleanup();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

function blockKey(index: number): string {
  return store.blockKeys(meta.commits[0]!.slice.id, LENGTH)[index]!;
}

async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] ^= 1;
  await writeFile(file, bytes);
}

async function read(offset: number, length: number): Promise<Buffer> {
  const target = Buffer.alloc(length, 0xee);
  expect(await store.read(1, offset, target, meta.length(1), meta)).toBe(length);
  return target;
}

async function view(offset: number, length: number): Promise<Buffer> {
  return store.readView(1, offset, length, meta.length(1), meta, (bytes) => Buffer.from(bytes));
}

/** 4 KiB of every block, so each is loaded whole and read in parts; all but the last two (blocks
 * 1 and 0) are dropped from memory. Backwards, so read-ahead takes no stream for sequential. */
async function touchEveryBlock(): Promise<void> {
  for (let b = BLOCKS - 1; b >= 0; b--) {
    const at = b * BS + 8 * KiB;
    expect((await read(at, 4 * KiB)).equals(data.subarray(at, at + 4 * KiB))).toBe(true);
  }
}

function expectEIO(p: Promise<unknown>, key: string): Promise<void> {
  return expect(p).rejects.toMatchObject({ code: 'EIO', message: expect.stringContaining(key) });
}

/** Flip one byte of block `index`'s object; a readView of [offset, offset + length) is then EIO
 * naming the block, and its callback never sees a byte. */
async function damageAndView(index: number, at: number, offset: number, length: number): Promise<void> {
  await flipByte(fx.fileOf(blockKey(index)), at);
  let called = false;
  await expectEIO(store.readView(1, offset, length, meta.length(1), meta, () => { called = true; }), blockKey(index));
  expect(called).toBe(false);
}

describe('reads by pieces', () => {
  it('read a dropped block again by its pieces alone, with the same bytes as the file, through read and readView', async () => {
    await open(false);
    await touchEveryBlock();
    expect(store.stats().blocksRead).toBe(BLOCKS);
    const tail = (BLOCKS - 1) * BS;
    // Inside one piece, across a piece boundary, at a block's end, a whole piece, several
    // pieces, and the tail block's short last piece and the piece before it.
    const ranges = [[2 * BS + 100 * KiB, 4 * KiB], [3 * BS + 32 * KiB - 100, 300], [5 * BS - 4 * KiB, 4 * KiB], [6 * BS + 64 * KiB, 32 * KiB],
      [2 * BS + 1, 70 * KiB], [tail + 98_500, 1_000], [tail + 90_000, 9_000]];
    for (const [offset, length] of ranges) {
      const want = data.subarray(offset!, offset! + length!);
      expect((await read(offset!, length!)).equals(want), `read ${offset}+${length}`).toBe(true);
      expect((await view(offset!, length!)).equals(want), `readView ${offset}+${length}`).toBe(true);
    }
    expect(store.stats().blocksRead).toBe(BLOCKS);
    expect(store.stats().pieceReads).toBe(2 * ranges.length);
    expect(store.stats().checksumErrors).toBe(0);
  });

  it('a damaged piece of a dropped block is EIO naming the block, counted, and its bytes are never handed out', async () => {
    await open(false);
    await touchEveryBlock();
    await damageAndView(4, 40 * KiB, 4 * BS + 36 * KiB, 8 * KiB);
    const target = Buffer.alloc(4 * KiB, 0xee);
    await expectEIO(store.read(1, 4 * BS + 40 * KiB, target, meta.length(1), meta), blockKey(4));
    expect(target.every((x) => x === 0)).toBe(true);
    expect(store.stats().checksumErrors).toBe(2);
    // Other blocks still read by their pieces.
    expect((await view(2 * BS + 40 * KiB, 4 * KiB)).equals(data.subarray(2 * BS + 40 * KiB, 2 * BS + 44 * KiB))).toBe(true);
  });

  it('damage in the last of several pieces a read spans is found too', async () => {
    await open(false);
    await touchEveryBlock();
    // Pieces 0-2 of block 3 are read; only piece 2 is damaged.
    await damageAndView(3, 70 * KiB, 3 * BS + 10 * KiB, 80 * KiB);
    await expectEIO(read(3 * BS + 10 * KiB, 80 * KiB), blockKey(3));
  });

  it('a block read through, not in parts, is loaded whole again: a sequential reader pays nothing for sums', async () => {
    await open(false);
    for (let at = 0; at < LENGTH; at += 256 * KiB) {
      const n = Math.min(256 * KiB, LENGTH - at);
      expect((await read(at, n)).equals(data.subarray(at, at + n))).toBe(true);
    }
    const loaded = store.stats().blocksRead;
    expect((await read(10 * KiB, 4 * KiB)).equals(data.subarray(10 * KiB, 14 * KiB))).toBe(true);
    expect(store.stats().pieceReads).toBe(0);
    expect(store.stats().blocksRead).toBe(loaded + 1);
  });

  it('pieces come from the cache disk when the block is there, and a damaged cached piece falls back to the store', async () => {
    await open(true);
    await expect.poll(() => store.stats().cacheWrites).toBe(BLOCKS);
    await touchEveryBlock();
    expect(store.stats().cacheHits).toBe(BLOCKS);
    // Block 5 is gone from the store: only the cache disk has it.
    await unlink(fx.fileOf(blockKey(5)));
    const fromStore = store.stats().bytesRead;
    expect((await view(5 * BS + 300 * KiB, 4 * KiB)).equals(data.subarray(5 * BS + 300 * KiB, 5 * BS + 304 * KiB))).toBe(true);
    expect(store.stats().pieceReads).toBe(1);
    expect(store.stats().bytesRead).toBe(fromStore);
    // Block 2's cached copy is damaged: the read gets the store's bytes, and the bad file goes.
    await flipByte(store.cache!.dirOf(blockKey(2)).pathOf(blockKey(2)), 300 * KiB);
    expect((await view(2 * BS + 300 * KiB, 4 * KiB)).equals(data.subarray(2 * BS + 300 * KiB, 2 * BS + 304 * KiB))).toBe(true);
    expect(store.stats().cacheErrors).toBeGreaterThan(0);
    expect(store.stats().checksumErrors).toBe(0);
  });
});
