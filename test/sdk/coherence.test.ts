// Every write is visible to every read at once, through the SDK: reads that arrive together
// (as parallel loaders and the kernel's read-ahead send them) right after a write, through the
// same handle or another one, reads racing a writer, and the size stat reports while appends are
// still buffered or being committed — before anything is closed or synced. The mount runs the
// same scenarios in test/fuse/coherence.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume } from '../../src/index.js';
import { makeVolume, type TestVolume } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [4 * KiB, 1 * MiB, 2 * MiB, 8 * MiB, 64 * MiB];
const PIECE = 512 * KiB;

type Handle = Awaited<ReturnType<Volume['open']>>;

let tv: TestVolume;
let vol: Volume;

beforeAll(async () => {
  tv = await makeVolume();
  vol = tv.vol;
});

afterAll(async () => {
  await tv.cleanup();
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** One turn of the event loop: what arrives next comes as a new request would (a FUSE request,
 * a socket), after work the last one started has begun. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Read the whole file in PIECE-sized reads that overlap: each starts a turn after the one before,
 * while the earlier ones are still under way (the first one commits the buffered writes). */
async function readTogether(fh: Handle, size: number): Promise<Buffer> {
  const pieces = [];
  for (let at = 0; at < size + PIECE; at += PIECE) {
    const buf = Buffer.alloc(PIECE);
    pieces.push(fh.read(buf, 0, PIECE, at).then(({ bytesRead }) => buf.subarray(0, bytesRead)));
    await nextTurn();
  }
  return Buffer.concat(await Promise.all(pieces));
}

function describeMismatch(got: Buffer, want: Buffer): string | null {
  if (got.equals(want)) return null;
  return `read ${got.length} bytes (sha ${sha(got)}), wrote ${want.length} (sha ${sha(want)})`;
}

describe('write-then-read through the SDK, before any close or sync', () => {
  it('the same handle: reads issued together right after a write see all of it', async () => {
    const wrong: Record<number, string> = {};
    for (const size of SIZES) {
      const data = randomBytes(size);
      const fh = await vol.open(`/same-${size}`, 'w+');
      await fh.write(data, 0, size, 0);
      const diff = describeMismatch(await readTogether(fh, size), data);
      if (diff) wrong[size] = diff;
      await fh.close();
    }
    expect(wrong).toEqual({});
  });

  it('another handle: reads issued together through it see what the first handle wrote', async () => {
    const wrong: Record<number, string> = {};
    for (const size of SIZES) {
      const data = randomBytes(size);
      const writer = await vol.open(`/other-${size}`, 'w');
      await writer.write(data, 0, size, 0);
      const reader = await vol.open(`/other-${size}`, 'r');
      const diff = describeMismatch(await readTogether(reader, size), data);
      if (diff) wrong[size] = diff;
      await reader.close();
      await writer.close();
    }
    expect(wrong).toEqual({});
  });

  it('reads racing a writer: every range already written reads back exactly', async () => {
    const wrong: string[] = [];
    for (const size of SIZES) {
      const data = randomBytes(size);
      const fh = await vol.open(`/race-${size}`, 'w+');
      const reader = await vol.open(`/race-${size}`, 'r');
      const step = Math.max(512, Math.min(128 * KiB, size / 64));
      let written = 0;
      const writing = (async () => {
        for (let at = 0; at < size; at += step) {
          await fh.write(data, at, Math.min(step, size - at), at);
          written = Math.min(size, at + step);
        }
      })();
      let reads = 0;
      let done = false;
      void writing.finally(() => { done = true; });
      while (!done || reads < 20) {
        const upto = written;
        if (upto === 0) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        // Three overlapping reads, through both handles, of ranges inside what is written.
        await Promise.all([0, 1, 2].map(async (k) => {
          for (let t = 0; t < k; t++) await nextTurn();
          const off = Math.floor(Math.random() * upto);
          const n = 1 + Math.floor(Math.random() * Math.min(upto - off, MiB));
          const buf = Buffer.alloc(n);
          const { bytesRead } = await (k === 2 ? fh : reader).read(buf, 0, n, off);
          const diff = describeMismatch(buf.subarray(0, bytesRead), data.subarray(off, off + n));
          if (diff && wrong.length < 10) wrong.push(`size ${size}: read(${n}, ${off}) with ${upto} written: ${diff}`);
        }));
        reads += 3;
      }
      await writing;
      await reader.close();
      await fh.close();
    }
    expect(wrong).toEqual([]);
  });

  it('appends: stat and fstat count every byte appended, also while a read is committing them', async () => {
    const wrong: string[] = [];
    for (const size of SIZES) {
      const data = randomBytes(size);
      const path = `/append-${size}`;
      const fh = await vol.open(path, 'a');
      const reader = await vol.open(path, 'r');
      const step = Math.max(256, size / 16);
      let total = 0;
      for (let at = 0; at < size; at += step) {
        const n = Math.min(step, size - at);
        await fh.write(data, at, n);
        total += n;
        // The read commits the buffered appends; the stats run while that commit is under way.
        const committing = reader.read(Buffer.alloc(1), 0, 1, 0);
        await nextTurn();
        const [, st, fst] = await Promise.all([committing, vol.stat(path), fh.stat()]);
        if ((st.size !== total || fst.size !== total) && wrong.length < 10) wrong.push(`size ${size}: after ${total} bytes appended stat says ${st.size}, fstat ${fst.size}`);
      }
      const diff = describeMismatch(await readTogether(reader, size), data);
      if (diff) wrong.push(`size ${size}: ${diff}`);
      await reader.close();
      await fh.close();
    }
    expect(wrong).toEqual([]);
  });
});
