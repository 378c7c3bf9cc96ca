// Damaged block objects on disk: a flipped byte, a truncated object, a deleted object. Reading
// through the SDK must fail with EIO naming the block (never ENOENT, never zeros, never wrong
// bytes), count checksum failures, and leave the intact blocks of the same file readable.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const BS = 64 * 1024;
const VOLUME = 'damaged';
/** Four whole blocks and a partial fifth. */
const SIZE = 4 * BS + 5000;
/** The block each case damages, and where in it the flipped byte lies. */
const HIT = 2;
const FLIP_AT = 1234;

let dir: string;
let metaUrl: string;
let storageDir: string;
let vol: Volume;
const content = new Map<string, Buffer>();
const keys = new Map<string, string[]>();

function objectPath(key: string): string {
  return join(storageDir, VOLUME, ...key.split('/'));
}

function checksumErrors(v: Volume): number {
  // The Volume has no stats accessor of its own; the chunk store behind its vfs counts.
  return v.vfs.store.stats().checksumErrors;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-fault-corrupt-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  storageDir = join(dir, 'objects');
  await Volume.format(metaUrl, { name: VOLUME, storage: `file://${storageDir}`, trashDays: 0, blockSize: BS });
  const writer = await Volume.open(metaUrl, { reclaimMs: 50 });
  for (const name of ['/flipped', '/truncated', '/deleted']) {
    const data = randomBytes(SIZE);
    await writer.writeFile(name, data);
    const info = await writer.info(name);
    // One write, one slice: blocks 0..4 of it.
    expect(info.chunks).toHaveLength(1);
    expect(info.chunks[0]!.slices).toHaveLength(1);
    const k = info.chunks[0]!.slices[0]!.keys;
    expect(k).toHaveLength(5);
    content.set(name, data);
    keys.set(name, k);
  }
  await writer.close();

  // Damage block HIT of each file while no client is running.
  const flipped = objectPath(keys.get('/flipped')![HIT]!);
  const bytes = await readFile(flipped);
  expect(bytes.length).toBe(BS + 8);
  bytes[FLIP_AT] ^= 0x20;
  await writeFile(flipped, bytes);
  await truncate(objectPath(keys.get('/truncated')![HIT]!), BS - 100);
  await unlink(objectPath(keys.get('/deleted')![HIT]!));

  vol = await Volume.open(metaUrl, { reclaimMs: 50 });
});

afterAll(async () => {
  await vol?.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** The call must fail with EIO whose message names the damaged block. */
async function expectEIO(p: Promise<unknown>, key: string): Promise<Error> {
  const outcome = await p.then(
    (v) => ({ ok: v }),
    (e: unknown) => ({ err: e as Error & { code?: string } }),
  );
  if ('ok' in outcome) throw new Error(`expected EIO naming ${key}, but the call succeeded`);
  expect(outcome.err.code, outcome.err.message).toBe('EIO');
  expect(outcome.err.message).toContain(key);
  return outcome.err;
}

/** A ranged read through a FileHandle: into a buffer pre-filled with 0xee. */
async function pread(path: string, position: number, length: number): Promise<{ buf: Buffer; result: Promise<number> }> {
  const fh = await vol.open(path, 'r');
  const buf = Buffer.alloc(length, 0xee);
  const result = fh.read(buf, 0, length, position).then((r) => r.bytesRead).finally(() => fh.close());
  return { buf, result };
}

/** After a failed read the buffer holds nothing taken from the damaged block: no file bytes that
 * differ from the true content at their position (zeros or the fill are acceptable). */
function noWrongBytes(buf: Buffer, truth: Buffer, position: number): void {
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === 0 || b === 0xee) continue;
    if (b !== truth[position + i]) throw new Error(`byte ${position + i} of the file came back as ${b}, the file holds ${truth[position + i]}`);
  }
}

describe('a block object with a flipped byte', () => {
  const path = '/flipped';

  it('readFile fails with EIO naming the block, and the failure is counted', async () => {
    const key = keys.get(path)![HIT]!;
    const before = checksumErrors(vol);
    const err = await expectEIO(vol.readFile(path), key);
    expect(err.message).toMatch(/checksum|verification/);
    expect(err).toMatchObject({ syscall: 'read' });
    expect(checksumErrors(vol)).toBe(before + 1);
  });

  it('a ranged read of the whole damaged block fails the same way and hands out no wrong bytes', async () => {
    const key = keys.get(path)![HIT]!;
    const before = checksumErrors(vol);
    const { buf, result } = await pread(path, HIT * BS, BS);
    await expectEIO(result, key);
    noWrongBytes(buf, content.get(path)!, HIT * BS);
    expect(checksumErrors(vol)).toBe(before + 1);
  });

  it('a ranged read spanning into the damaged block (most of it) fails too', async () => {
    const key = keys.get(path)![HIT]!;
    const position = HIT * BS - 100;
    const { buf, result } = await pread(path, position, BS);
    await expectEIO(result, key);
    noWrongBytes(buf, content.get(path)!, position);
  });

  it('a small ranged read over the flipped byte fails with EIO, never returning the wrong byte', async () => {
    const key = keys.get(path)![HIT]!;
    const position = HIT * BS + FLIP_AT - 50;
    const { buf, result } = await pread(path, position, 100);
    const outcome = await result.then((n) => ({ n }), (e: unknown) => ({ e: e as Error & { code?: string } }));
    if ('n' in outcome) {
      const truth = content.get(path)!.subarray(position, position + 100);
      const wrong = [...buf.subarray(0, outcome.n)].flatMap((b, i) => (b === truth[i] ? [] : [`file byte ${position + i}: got 0x${b.toString(16)}, file holds 0x${truth[i]!.toString(16)}`]));
      throw new Error(`a ${buf.length}-byte read over the damaged byte succeeded (${outcome.n} bytes) instead of failing with EIO; ` +
        (wrong.length ? `wrong bytes handed out: ${wrong.join('; ')}` : 'the bytes happen to be right'));
    } else {
      expect(outcome.e.code).toBe('EIO');
      expect(outcome.e.message).toContain(key);
      noWrongBytes(buf, content.get(path)!, position);
    }
  });

  it('a small ranged read elsewhere in the damaged block returns the right bytes or EIO, nothing else', async () => {
    const position = HIT * BS + 40_000;
    const { buf, result } = await pread(path, position, 64);
    const outcome = await result.then((n) => ({ n }), (e: unknown) => ({ e: e as Error & { code?: string } }));
    if ('n' in outcome) {
      expect(outcome.n).toBe(64);
      expect(buf.equals(content.get(path)!.subarray(position, position + 64))).toBe(true);
    } else {
      expect(outcome.e.code).toBe('EIO');
      noWrongBytes(buf, content.get(path)!, position);
    }
  });

  it('intact blocks of the same file still read back exactly', async () => {
    const data = content.get(path)!;
    for (const block of [0, 1, 3, 4]) {
      const position = block * BS;
      const length = Math.min(BS, SIZE - position);
      const { buf, result } = await pread(path, position, length);
      expect(await result).toBe(length);
      expect(buf.equals(data.subarray(position, position + length)), `block ${block}`).toBe(true);
    }
    // Across the two intact blocks after the damaged one.
    const { buf, result } = await pread(path, 4 * BS - 10, 1000);
    expect(await result).toBe(1000);
    expect(buf.equals(data.subarray(4 * BS - 10, 4 * BS + 990))).toBe(true);
  });

  it('every failed read counts again: nothing damaged is cached as good', async () => {
    const key = keys.get(path)![HIT]!;
    const before = checksumErrors(vol);
    await expectEIO(vol.readFile(path), key);
    await expectEIO(vol.readFile(path), key);
    expect(checksumErrors(vol)).toBe(before + 2);
  });
});

describe('a truncated block object', () => {
  const path = '/truncated';

  it('readFile and a whole-block ranged read fail with EIO naming the block', async () => {
    const key = keys.get(path)![HIT]!;
    const before = checksumErrors(vol);
    const err = await expectEIO(vol.readFile(path), key);
    expect(err.message).toMatch(/bytes|ends early|verification/);
    const { buf, result } = await pread(path, HIT * BS, BS);
    await expectEIO(result, key);
    noWrongBytes(buf, content.get(path)!, HIT * BS);
    expect(checksumErrors(vol)).toBeGreaterThanOrEqual(before + 2);
  });

  it('a small ranged read past the cut fails with EIO', async () => {
    const key = keys.get(path)![HIT]!;
    const { result } = await pread(path, HIT * BS + BS - 50, 20);
    await expectEIO(result, key);
  });

  it('intact blocks still read back exactly', async () => {
    const data = content.get(path)!;
    const { buf, result } = await pread(path, 0, 2 * BS);
    expect(await result).toBe(2 * BS);
    expect(buf.equals(data.subarray(0, 2 * BS))).toBe(true);
  });
});

describe('a deleted block object', () => {
  const path = '/deleted';

  it('readFile fails with EIO (not ENOENT, not zeros) naming the block', async () => {
    const key = keys.get(path)![HIT]!;
    const err = await expectEIO(vol.readFile(path), key);
    expect((err as { code?: string }).code).not.toBe('ENOENT');
  });

  it('ranged reads of it, whole or small, fail with EIO and return no zeros as data', async () => {
    const key = keys.get(path)![HIT]!;
    for (const [position, length] of [[HIT * BS, BS], [HIT * BS + 10, 10]] as const) {
      const { result } = await pread(path, position, length);
      await expectEIO(result, key);
    }
  });

  it('the file is still listed and stat-able, and its other blocks read back', async () => {
    expect((await vol.stat(path)).size).toBe(SIZE);
    const data = content.get(path)!;
    const { buf, result } = await pread(path, 3 * BS, SIZE - 3 * BS);
    expect(await result).toBe(SIZE - 3 * BS);
    expect(buf.equals(data.subarray(3 * BS))).toBe(true);
  });
});
