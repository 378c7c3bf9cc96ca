// strata gc, run as users run it: blocks a writer uploaded and never committed (it was SIGKILLed)
// are reported, then deleted with --delete; nothing a file references is ever touched, even with
// a writer at work during gc; a second run finds nothing; bad flags are refused.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { strata, strataAsync } from '../helpers/cli.js';
import { packageRoot } from '../../src/hotpath/locate.js';
import { collectGarbage } from '../../src/admin/gc.js';
import { openBackends } from '../../src/sdk/backends.js';

const INDEX = join(packageRoot(), 'dist', 'src', 'index.js');
const BLOCK = 64 * 1024;
let dir: string;
let url: string;
let objects: string;

/** Every object file of the volume's store, with its size. */
async function storeFiles(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(p, (await fs.stat(p)).size);
    }
  };
  await walk(objects);
  return out;
}

/** Make every object look `ms` old (as objects left behind long ago are). */
async function age(ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  for (const p of (await storeFiles()).keys()) await fs.utimes(p, t, t);
}

/** A writer that uploads blocks of a file and is SIGKILLed before it commits them. */
async function killedWriter(blocks: number): Promise<void> {
  const script = `
    import { Volume } from ${JSON.stringify(INDEX)};
    const vol = await Volume.open(${JSON.stringify(url)});
    const h = await vol.open('/never-committed', 'w');
    await h.write(Buffer.alloc(${blocks * BLOCK}, 7), 0, ${blocks * BLOCK}, 0);
    // Full blocks upload as they fill; the slice commits only at flush or close, never here.
    while (vol.vfs.store.stats().blocksWritten < ${blocks}) await new Promise((r) => setTimeout(r, 20));
    process.send('uploaded');
    await new Promise(() => {});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited with ${code} before uploading`)));
  });
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-gc-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  objects = join(dir, 'objects');
  await Volume.format(url, { name: 'gcvol', storage: `file://${objects}`, blockSize: BLOCK, trashDays: 0 });
  const vol = await Volume.open(url);
  for (let i = 0; i < 5; i++) await vol.writeFile(`/kept${i}`, Buffer.alloc(BLOCK * 2 + 100 * i, i + 1));
  await vol.close();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('strata gc', () => {
  it('reports the blocks of a writer killed before commit, deletes them with --delete, and keeps every referenced block', async () => {
    const before = await storeFiles();
    await killedWriter(3);
    const after = await storeFiles();
    const leaked = [...after.keys()].filter((k) => !before.has(k));
    expect(leaked.length).toBe(3);
    await age(2 * 86_400_000);

    const report = strata('gc', url, '--json');
    expect(report.code, report.err).toBe(0);
    const r = JSON.parse(report.out) as Record<string, number>;
    expect(r.leakedObjects).toBe(3);
    expect(r.leakedBytes).toBe([...leaked].reduce((n, k) => n + after.get(k)!, 0));
    expect(r.knownBlocks).toBe(before.size);
    expect(r.deletedObjects).toBe(0);
    expect((await storeFiles()).size, 'report-only gc changed the store').toBe(after.size);

    const text = strata('gc', url);
    expect(text.out).toMatch(/Leaked: 3 blocks .* no slice references/);
    expect(text.out).toMatch(/run again with --delete/);

    const del = strata('gc', url, '--delete', '--json');
    expect(del.code, del.err).toBe(0);
    expect(JSON.parse(del.out).deletedObjects).toBe(3);
    const left = await storeFiles();
    expect([...left.keys()].sort()).toEqual([...before.keys()].sort());
    const vol = await Volume.open(url);
    try {
      for (let i = 0; i < 5; i++) expect((await vol.readFile(`/kept${i}`)).equals(Buffer.alloc(BLOCK * 2 + 100 * i, i + 1))).toBe(true);
    } finally {
      await vol.close();
    }
    // Safe to run twice: nothing more to find.
    expect(JSON.parse(strata('gc', url, '--delete', '--json').out).leakedObjects).toBe(0);
  }, 120_000);

  it('leaves unreferenced blocks younger than --min-age alone: an upload may be in flight', async () => {
    await killedWriter(2);
    const young = JSON.parse(strata('gc', url, '--delete', '--json').out) as Record<string, number>;
    expect(young.youngObjects).toBe(2);
    expect(young.deletedObjects).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const old = JSON.parse(strata('gc', url, '--delete', '--min-age', '1s', '--json').out) as Record<string, number>;
    expect(old.deletedObjects).toBe(2);
  }, 60_000);

  it('removes nothing a file references while a writer keeps writing, and finishes deletions no client did', async () => {
    // Old referenced blocks, old leaked blocks, and a writer adding new ones while gc runs.
    await killedWriter(2);
    await age(2 * 86_400_000);
    const vol = await Volume.open(url, { reclaimMs: 3_600_000 });
    let writing = true;
    const written = new Map<string, Buffer>();
    let writes = 0;
    const writer = (async () => {
      for (let n = 0; writing; n++, writes++) {
        const data = Buffer.alloc(BLOCK + (n % 7) * 1000, n % 251);
        await vol.writeFile(`/live${n % 20}`, data);
        written.set(`/live${n % 20}`, data);
        // A write of a local volume may finish without leaving the microtask queue: let the
        // gc processes' events in.
        await new Promise((r) => setImmediate(r));
      }
    })();
    const runs: Record<string, number>[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const r = await strataAsync('gc', url, '--delete', '--json');
        expect(r.code, r.err).toBe(0);
        runs.push(JSON.parse(r.out) as Record<string, number>);
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(writes).toBeGreaterThan(20);
    expect(runs[0].deletedObjects).toBe(2);
    // The writer's blocks were listed while it wrote, unknown or not: none was deleted.
    expect(runs.reduce((n, r) => n + r.deletedObjects, 0)).toBe(2);
    // Overwrites freed slices that this client, its reclaim loop an hour away, left: gc did it.
    expect(runs.reduce((n, r) => n + r.reclaimedSlices, 0), JSON.stringify(runs)).toBeGreaterThan(0);
    await vol.close();
    const check = await Volume.open(url);
    try {
      for (const [path, data] of written) expect((await check.readFile(path)).equals(data), path).toBe(true);
      for (let i = 0; i < 5; i++) expect((await check.readFile(`/kept${i}`)).equals(Buffer.alloc(BLOCK * 2 + 100 * i, i + 1))).toBe(true);
    } finally {
      await check.close();
    }
  }, 120_000);

  it('pages through the listing, and leaves objects that only look like blocks alone', async () => {
    // Somebody else's object whose name ends like a block's.
    const foreign = join(objects, 'gcvol', 'chunks', 'x', 'chunks', '0', '0', '5_0_3');
    await fs.mkdir(join(foreign, '..'), { recursive: true });
    await fs.writeFile(foreign, 'not ours');
    await killedWriter(2);
    await age(2 * 86_400_000);
    const files = await storeFiles();
    const backends = await openBackends(url, {});
    try {
      const r = await collectGarbage(backends.meta, backends.objects, backends.store, { pageSize: 2, trashDays: 0, delete: true });
      expect(r.scannedObjects).toBe(files.size);
      expect(r.foreignObjects).toBe(1);
      expect(r.leakedObjects).toBe(2);
      expect(r.deletedObjects).toBe(2);
    } finally {
      await backends.close();
    }
    expect(await fs.readFile(foreign, 'utf8')).toBe('not ours');
  }, 60_000);

  it('refuses bad flags and a URL that holds no volume', () => {
    const bad = strata('gc', url, '--min-age', '5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--min-age takes a duration such as 90s/);
    const none = strata('gc', `sqlite3://${join(dir, 'nothing.db')}`);
    expect(none.code).not.toBe(0);
    expect(none.err).toMatch(/no Strata volume at sqlite3:/);
  });
});
