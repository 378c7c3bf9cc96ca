// One cached block on local disk: the block's bytes followed by an XXH3 checksum (seeded with the
// block's key) of every 32 KiB piece, so that a read of part of a block can be verified without
// reading the rest, and a file stored under another block's name fails verification.
import { closeSync, fstatSync, openSync, read, writev } from 'node:fs';
import { rename, unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PIECE_SIZE, pieceChecksums } from '../hotpath/index.js';

export const PIECE_SIZE = DEFAULT_PIECE_SIZE;
const SUM_BYTES = 8;
const readAsync = promisify(read);
const writevAsync = promisify(writev);

/** Bytes of the checksums after a `blockLength`-byte block in its cache file. */
export function cacheSumsSize(blockLength: number): number {
  return Math.ceil(blockLength / PIECE_SIZE) * SUM_BYTES;
}

/** The whole pieces that bytes [offset, offset + length) of a `blockLength`-byte block fall in:
 * pieces [first, first + count), which are bytes [start, end) of the block (the last piece may be
 * the block's short tail). */
export function pieceSpan(offset: number, length: number, blockLength: number): { first: number; count: number; start: number; end: number } {
  const first = Math.floor(offset / PIECE_SIZE);
  const start = first * PIECE_SIZE;
  const end = Math.min(blockLength, Math.ceil((offset + length) / PIECE_SIZE) * PIECE_SIZE);
  return { first, count: Math.ceil((end - start) / PIECE_SIZE), start, end };
}

/** Bytes a cache file of a `blockLength`-byte block takes. */
export function cacheFileSize(blockLength: number): number {
  return blockLength + Math.ceil(blockLength / PIECE_SIZE) * SUM_BYTES;
}

/** Why a cache file could not serve a read: 'absent' (no file) or 'corrupt' (size or checksum). */
export class CacheFileError extends Error {
  constructor(readonly kind: 'absent' | 'corrupt', message: string) {
    super(message);
  }
}

/** The checksums a cache file of block `key` holding `data` stores (hash `data` where it lies:
 * in WASM memory that costs no copy). */
export function cacheSums(key: string, data: Uint8Array): Buffer {
  const sums = pieceChecksums(data, key, PIECE_SIZE);
  return Buffer.from(sums.buffer, sums.byteOffset, sums.byteLength);
}

/** Write the cache file (`bytes` then `sumBytes` from cacheSums) atomically: temp file, then
 * rename; its directory is made. */
export async function writeCacheFile(path: string, temp: string, bytes: Buffer, sumBytes: Buffer): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    let done = 0;
    const total = bytes.byteLength + sumBytes.byteLength;
    while (done < total) {
      const parts = done < bytes.byteLength ? [bytes.subarray(done), sumBytes] : [sumBytes.subarray(done - bytes.byteLength)];
      done += (await writevAsync(fd, parts)).bytesWritten;
    }
  } catch (err) {
    closeSync(fd);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  closeSync(fd);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return cacheFileSize(bytes.byteLength);
}

function openCacheFile(path: string, blockLength: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new CacheFileError('absent', `${path}: not cached`);
    throw err;
  }
  const size = fstatSync(fd).size;
  if (size !== cacheFileSize(blockLength)) {
    closeSync(fd);
    throw new CacheFileError('corrupt', `${path}: ${size} bytes, expected ${cacheFileSize(blockLength)}`);
  }
  return fd;
}

async function readFully(fd: number, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead: n } = await readAsync(fd, target, done, target.byteLength - done, position + done);
    if (n === 0) throw new CacheFileError('corrupt', `${path}: ends early`);
    done += n;
  }
}

/** The stored checksums of pieces [first, first + count). */
async function readSums(fd: number, blockLength: number, first: number, count: number, path: string): Promise<BigUint64Array> {
  const raw = Buffer.alloc(count * SUM_BYTES);
  await readFully(fd, raw, blockLength + first * SUM_BYTES, path);
  return new BigUint64Array(raw.buffer, raw.byteOffset, count);
}

function checkSums(got: BigUint64Array, want: BigUint64Array, firstPiece: number, path: string): void {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new CacheFileError('corrupt', `${path}: checksum mismatch in piece ${firstPiece + i}`);
  }
}

/**
 * Read bytes [offset, offset + target.byteLength) of the cached block into `target`. With
 * `verify`, the pieces they fall in are read whole and checked first (`scratch` must hold them:
 * pass a buffer in WASM memory so the checksum costs no copy). Throws CacheFileError, or the
 * disk's own error. `room`: the caller's whole buffer starting where `target` does; when the
 * checksums fit after the block, a whole-block read takes both in one read.
 */
export async function readCacheFile(
  path: string, key: string, blockLength: number, offset: number, target: Uint8Array, verify: boolean, scratch?: Uint8Array, room?: Uint8Array,
): Promise<void> {
  const fd = openCacheFile(path, blockLength);
  try {
    if (!verify) {
      await readFully(fd, target, offset, path);
      return;
    }
    const { first, count, start, end } = pieceSpan(offset, target.byteLength, blockLength);
    const whole = start === offset && end === offset + target.byteLength;
    const area = whole ? target : scratch!.subarray(0, end - start);
    let want: BigUint64Array;
    const withSums = whole && offset === 0 && end === blockLength && room && room.buffer === target.buffer && room.byteOffset === target.byteOffset
      && room.byteLength >= blockLength + count * SUM_BYTES ? room.subarray(0, blockLength + count * SUM_BYTES) : null;
    if (withSums) {
      // The whole block with its checksums right behind it, in one read.
      await readFully(fd, withSums, 0, path);
      want = new BigUint64Array(count);
      new Uint8Array(want.buffer).set(withSums.subarray(blockLength));
    } else {
      [, want] = await Promise.all([readFully(fd, area, start, path), readSums(fd, blockLength, first, count, path)]);
    }
    // Every piece is seeded with the block's key alone, so a run of pieces read on its own hashes
    // to the values stored when the whole block was summed.
    checkSums(pieceChecksums(area, key, PIECE_SIZE), want, first, path);
    if (!whole) target.set(area.subarray(offset - start, offset - start + target.byteLength));
  } finally {
    closeSync(fd);
  }
}

/** Pieces [first, first + count) of a cached block and their stored checksums, as they are on
 * disk (unverified: the reader checks them with piecesMatch). */
export async function readCacheFileRaw(path: string, blockLength: number, first: number, count: number): Promise<{ data: Buffer; sums: Buffer }> {
  const fd = openCacheFile(path, blockLength);
  try {
    const start = first * PIECE_SIZE;
    const data = Buffer.allocUnsafe(Math.min(blockLength, (first + count) * PIECE_SIZE) - start);
    const sums = Buffer.allocUnsafe(count * SUM_BYTES);
    await Promise.all([readFully(fd, data, start, path), readFully(fd, sums, blockLength + first * SUM_BYTES, path)]);
    return { data, sums };
  } finally {
    closeSync(fd);
  }
}

/** Whether `sums` are the checksums of the pieces of block `key` that `data` holds (a run of
 * whole pieces; the last may be the block's short tail). */
export function piecesMatch(key: string, data: Uint8Array, sums: Uint8Array): boolean {
  const got = pieceChecksums(data, key, PIECE_SIZE);
  return sums.byteLength === got.byteLength && Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), sums) === 0;
}
