// One stored block = its data followed by an 8-byte little-endian XXH3 checksum keyed with the
// block's own object key, so a damaged block, or a block stored under another block's name,
// fails verification instead of returning wrong bytes.
import { allocBuffer, blockChecksum, releaseBuffer } from '../hotpath/index.js';
import { errnoError } from '../errors/errno.js';
import type { ObjectStore } from '../object/store.js';

export const CHECKSUM_BYTES = 8;
/** A whole-block buffer is this much longer than the block: room for the stored trailer and one
 * byte that shows an object longer than it should be. Writers allocate the same size, so read and
 * write buffers share one size class of the hot path's allocator (fresh WASM pages are costly to
 * touch the first time). */
export const BLOCK_BUFFER_EXTRA = CHECKSUM_BYTES + 1;

const checksumErrors = new WeakSet<Error>();

/** True for the EIO a failed block verification raises (so callers can count them). */
export function isChecksumError(err: unknown): boolean {
  return err instanceof Error && checksumErrors.has(err);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The trailer stored after a block's data. */
export function checksumTrailer(data: Uint8Array, key: string): Uint8Array {
  const trailer = new Uint8Array(CHECKSUM_BYTES);
  new DataView(trailer.buffer).setBigUint64(0, blockChecksum(data, key), true);
  return trailer;
}

/** Store `data` as block `key` (data || checksum) in one atomic put. `room`, when given, is the
 * caller's whole buffer starting where `data` does, whose bytes after it may be overwritten. Any
 * failure is EIO naming the key. */
export async function putBlock(objects: ObjectStore, key: string, data: Uint8Array, room?: Uint8Array): Promise<void> {
  const trailer = checksumTrailer(data, key);
  // With the caller's spare bytes right after the block, the object goes out as one contiguous
  // buffer: stores that need a single body (S3) would otherwise copy the block to append 8 bytes.
  let body: Uint8Array | Uint8Array[] = [data, trailer];
  if (room && room.buffer === data.buffer && room.byteOffset === data.byteOffset && room.byteLength >= data.byteLength + CHECKSUM_BYTES) {
    room.set(trailer, data.byteLength);
    body = room.subarray(0, data.byteLength + CHECKSUM_BYTES);
  }
  try {
    await objects.put(key, body);
  } catch (err) {
    throw errnoError('EIO', 'write', key, `storing block ${key} failed: ${message(err)}`, err);
  }
}

function corrupt(key: string, why: string): Error {
  const err = errnoError('EIO', 'read', key, `block ${key} failed verification: ${why}`);
  checksumErrors.add(err);
  return err;
}

/** Check a whole stored object (`stored` = exactly the bytes read) against the block it should be. */
export function verifyStoredBlock(stored: Uint8Array, key: string, blockLength: number): Error | null {
  const sizeProblem = checkStoredSize(stored, key, blockLength);
  if (sizeProblem) return sizeProblem;
  if (blockChecksum(stored.subarray(0, blockLength), key) !== storedChecksum(stored, blockLength)) return corrupt(key, 'checksum mismatch');
  return null;
}

function checkStoredSize(stored: Uint8Array, key: string, blockLength: number): Error | null {
  if (stored.byteLength === blockLength + CHECKSUM_BYTES) return null;
  return corrupt(key, `stored object is ${stored.byteLength} bytes, expected ${blockLength + CHECKSUM_BYTES}`);
}

function storedChecksum(stored: Uint8Array, blockLength: number): bigint {
  const trailer = stored.subarray(blockLength);
  return new DataView(trailer.buffer, trailer.byteOffset, CHECKSUM_BYTES).getBigUint64(0, true);
}

/**
 * Fetch block `key` whole into a buffer in WASM memory (so its checksum costs no copy) and verify
 * it. Returns the buffer, the block's data in [0, blockLength); give it back with releaseBuffer.
 * Throws EIO naming the key if the object is missing, unreadable, or fails verification.
 */
export async function getVerifiedBlock(objects: ObjectStore, key: string, blockLength: number): Promise<Buffer> {
  // One spare byte shows an object that is longer than the block it claims to be.
  const buf = allocBuffer(blockLength + BLOCK_BUFFER_EXTRA);
  try {
    await fetchVerifiedInto(objects, key, blockLength, buf);
    return buf;
  } catch (err) {
    releaseBuffer(buf);
    throw err;
  }
}

/** getVerifiedBlock into a buffer the caller has (at least blockLength + BLOCK_BUFFER_EXTRA bytes). */
export async function fetchVerifiedInto(objects: ObjectStore, key: string, blockLength: number, buf: Uint8Array): Promise<void> {
  let got: number;
  try {
    got = await objects.getInto(key, 0, buf);
  } catch (err) {
    throw errnoError('EIO', 'read', key, `reading block ${key} failed: ${message(err)}`, err);
  }
  const stored = buf.subarray(0, got);
  const bad = verifyStoredBlock(stored, key, blockLength);
  if (bad) throw bad;
}
