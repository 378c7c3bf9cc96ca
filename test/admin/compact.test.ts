// strata compact, run as users run it: a file overwritten in 4 KiB random writes until it holds
// over a thousand slices reads the same after compact, with one slice per chunk and the store's
// objects and bytes down to what its files reference, while another writer keeps writing. Random
// histories of writes, overwrites and truncates compact without changing a byte (checked against
// a model buffer). Bad paths and flags are refused.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { strata, strataAsync } from '../helpers/cli.js';
import { compactTree } from '../../src/admin/compact.js';
import { CHECKSUM_BYTES } from '../../src/chunk/blocks.js';
import { openBackends } from '../../src/sdk/backends.js';
import { compactionPlan } from '../../src/vfs/compaction.js';

const BLOCK = 64 * 1024;
const CHUNK = 64 * 1024 * 1024;
let dir: string;
let url: string;
let objects: string;

/** Count and bytes of the object files of the volume's store. */
async function storeUsage(): Promise<{ objects: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        count++;
        bytes += (await fs.stat(p)).size;
      }
    }
  };
  await walk(objects);
  return { objects: count, bytes };
}

/** The objects and bytes the files of the volume reference (each stored slice once). */
async function referenced(vol: Volume, paths: string[]): Promise<{ objects: number; bytes: number; slices: Map<string, number[]> }> {
  const seen = new Set<number>();
  let count = 0;
  let bytes = 0;
  const slices = new Map<string, number[]>();
  for (const p of paths) {
    const info = await vol.info(p);
    slices.set(p, info.chunks.map((c) => c.slices.length));
    for (const c of info.chunks) {
      for (const s of c.slices) {
        if (s.id === 0 || seen.has(s.id)) continue;
        seen.add(s.id);
        count += s.keys.length;
        bytes += s.size + s.keys.length * CHECKSUM_BYTES; // each block object carries its checksum
      }
    }
  }
  return { objects: count, bytes, slices };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-compact-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  objects = join(dir, 'objects');
  await Volume.format(url, { name: 'compactvol', storage: `file://${objects}`, blockSize: BLOCK, trashDays: 0 });
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('strata compact', () => {
  it('a file of over 1,000 slices reads the same after compact, one slice per chunk, the store down to what is referenced, while another file is being written', async () => {
    const size = CHUNK + 1024 * 1024;
    const model = randomBytes(size);
    // This client leaves compaction to the command.
    const vol = await Volume.open(url, { compactThreshold: 0 });
    try {
      await vol.writeFile('/frag', model);
      const fh = await vol.open('/frag', 'r+');
      for (let i = 0; i < 1000; i++) {
        // Half the writes land near the chunk boundary, so both chunks are fragmented.
        const at = i % 2 === 0 ? Math.floor(Math.random() * (size - 4096)) : CHUNK - 512 * 1024 + Math.floor(Math.random() * 1024 * 1024);
        const bytes = randomBytes(4096);
        bytes.copy(model, at);
        await fh.write(bytes, 0, 4096, at);
        await fh.datasync();
      }
      await fh.close();
      const before = await referenced(vol, ['/frag']);
      expect(before.slices.get('/frag')!.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1000);
      const storeBefore = await storeUsage();

      // A reader that learned the file's slices before compaction reads on after it.
      const reader = await vol.open('/frag', 'r');
      const head = Buffer.alloc(1024 * 1024);
      await reader.read(head, 0, head.length, 0);
      expect(head.equals(model.subarray(0, head.length))).toBe(true);

      // Another writer appends meanwhile (compact runs in its own process, as users run it).
      const otherModel: Buffer[] = [];
      const other = await vol.open('/other', 'w');
      let writing = true;
      const writer = (async () => {
        for (let at = 0; writing; at += 4096) {
          const bytes = randomBytes(4096);
          otherModel.push(bytes);
          await other.write(bytes, 0, 4096, at);
          await other.datasync();
          // A local volume's calls may never leave the microtask queue: let the child's exit in.
          await new Promise((r) => setImmediate(r));
        }
      })();
      const run = await strataAsync('compact', url, '--json');
      writing = false;
      await writer;
      await other.close();
      expect(run.code, run.err).toBe(0);
      const report = JSON.parse(run.out) as Record<string, number>;
      expect(report.compactedChunks).toBeGreaterThanOrEqual(2);
      expect(report.slicesBefore).toBeGreaterThanOrEqual(1000);
      expect(report.releasedSlices).toBeGreaterThanOrEqual(1000);
      expect(report.deletedObjects).toBeGreaterThan(1000);

      const whole = Buffer.alloc(size);
      await reader.read(whole, 0, size, 0);
      await reader.close();
      expect(whole.equals(model)).toBe(true);

      const check = await Volume.open(url);
      try {
        expect((await check.readFile('/frag')).equals(model)).toBe(true);
        expect((await check.readFile('/other')).equals(Buffer.concat(otherModel))).toBe(true);
        const after = await referenced(check, ['/frag', '/other']);
        expect(after.slices.get('/frag')).toEqual([1, 1]);
        // Every object left is one a file references, and nothing a file references is gone.
        expect(await storeUsage()).toEqual({ objects: after.objects, bytes: after.bytes });
        // /frag alone now takes its size in blocks: the overwritten bytes are gone from the store.
        const frag = await referenced(check, ['/frag']);
        expect(frag.bytes).toBe(size + frag.objects * CHECKSUM_BYTES);
        expect(frag.bytes).toBeLessThan(storeBefore.bytes - 3_000_000);
      } finally {
        await check.close();
      }
    } finally {
      await vol.close();
    }
    // Safe to run twice: nothing left to do for /frag.
    const again = strata('compact', url, '/frag', '--json');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ files: 1, compactedChunks: 0, releasedSlices: 0 });
    expect(strata('compact', url, '/frag').out).toMatch(/compacted 0 \(0 slices -> 0\)/);
  }, 300_000);

  it('random histories of writes, overwrites and truncates read the same after compaction, and every chunk ends compact', async () => {
    const backends = await openBackends(url, {});
    const vol = await Volume.open(url);
    let n = 0;
    try {
      // An offset near the start of the file or around the first chunk boundary.
      const offset = fc.oneof(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: CHUNK - 150_000, max: CHUNK + 150_000 }));
      const op = fc.oneof(
        fc.record({ kind: fc.constant('write' as const), at: offset, len: fc.integer({ min: 1, max: 150_000 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: offset, len: fc.constant(0) }),
      );
      await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const path = `/model-${n++}`;
        let model = Buffer.alloc(0);
        const fh = await vol.open(path, 'w+');
        for (const o of ops) {
          if (o.kind === 'write') {
            const bytes = randomBytes(o.len);
            if (model.length < o.at + o.len) model = Buffer.concat([model, Buffer.alloc(o.at + o.len - model.length)]);
            bytes.copy(model, o.at);
            await fh.write(bytes, 0, o.len, o.at);
          } else {
            model = o.at <= model.length ? Buffer.from(model.subarray(0, o.at)) : Buffer.concat([model, Buffer.alloc(o.at - model.length)]);
            await fh.truncate(o.at);
          }
          await fh.datasync();
        }
        await fh.close();
        const blocks = (await vol.stat(path)).blocks;
        const ino = (await vol.stat(path)).ino;
        const report = await compactTree(backends.meta, backends.store, { start: { ino, path } });
        expect(report.failures).toEqual([]);
        // A fresh reader (no block or slice list cached from before) sees the same bytes.
        const fresh = await Volume.open(url);
        try {
          expect((await fresh.readFile(path)).equals(model)).toBe(true);
          expect((await fresh.stat(path)).blocks).toBe(blocks);
        } finally {
          await fresh.close();
        }
        expect((await vol.readFile(path)).equals(model)).toBe(true);
        for (const c of await backends.meta.chunks(ino)) expect(compactionPlan(c.slices, BLOCK)).toBeNull();
        await vol.unlink(path);
      }), { numRuns: 25 });
    } finally {
      await vol.close();
      await backends.close();
    }
  }, 300_000);

  it('a client compacts a chunk it keeps committing small writes to in the background; reads on another handle stay right throughout', async () => {
    const size = 4 * 1024 * 1024;
    const slicesAfter = async (threshold: number): Promise<number> => {
      const model = randomBytes(size);
      const vol = await Volume.open(url, { compactThreshold: threshold });
      const path = `/auto-${threshold}`;
      try {
        await vol.writeFile(path, model);
        const fh = await vol.open(path, 'r+');
        const reader = await vol.open(path, 'r');
        for (let i = 0; i < 400; i++) {
          const at = Math.floor(Math.random() * (size - 4096));
          const bytes = randomBytes(4096);
          bytes.copy(model, at);
          await fh.write(bytes, 0, 4096, at);
          await fh.datasync();
          if (i % 50 === 49) {
            const got = Buffer.alloc(size);
            await reader.read(got, 0, size, 0);
            expect(got.equals(model)).toBe(true);
          }
          await new Promise((r) => setImmediate(r));
        }
        await fh.close();
        await reader.close();
      } finally {
        await vol.close();
      }
      const check = await Volume.open(url);
      try {
        expect((await check.readFile(path)).equals(model)).toBe(true);
        return (await check.info(path)).chunks[0]!.slices.length;
      } finally {
        await check.close();
      }
    };
    expect(await slicesAfter(0)).toBe(401);
    // Compacted at least once per 60 commits: what is left is at most the commits since.
    expect(await slicesAfter(60)).toBeLessThanOrEqual(120);
  }, 300_000);

  it('refuses a path that does not exist and bad flags, changing nothing', () => {
    const missing = strata('compact', url, '/no/such/file');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/\/no\/such\/file: no such file or directory/);
    const flag = strata('compact', url, '--threads', '0');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/--threads/);
    const unknown = strata('compact', url, '--bogus');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toMatch(/unknown option '--bogus'/);
    const help = strata('compact', '--help');
    expect(help.out).toMatch(/one slice each/);
  });
});
