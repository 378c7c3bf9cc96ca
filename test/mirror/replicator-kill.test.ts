// The replicator as users run it — `strata mirror run` in a process of its own — SIGKILLed at
// random points 20 times while a workload changes the primary (PostgreSQL; the mirror is
// SQLite with its own store). Restarted each time, it ends with the primary's volume exactly
// (dump(primary) = dump(mirror), mirror bookkeeping aside) and every block the mirror uses in its
// own store.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { sliceBlockKeys } from '../../src/chunk/keys.js';
import { Volume } from '../../src/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { PRIMARY_ENV } from '../../src/mirror/primary.js';
import { mirrorStatus } from '../../src/mirror/status.js';
import { openObjectStore } from '../../src/object/open.js';
import { createMirrorVolume } from '../../src/sdk/mirror.js';
import { databases } from '../helpers/databases.js';
import { dumpLines, workload } from '../helpers/replication.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const pg = databases('postgres');
const BLOCK = 64 * 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-mirror-kill-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function replicator(mirror: string, primary: string): ChildProcess {
  return spawn(process.execPath, [CLI, 'mirror', 'run', mirror], { env: { ...process.env, [PRIMARY_ENV]: primary }, stdio: ['ignore', 'pipe', 'pipe'] });
}

const exited = (p: ChildProcess) => new Promise<number | null>((res) => (p.exitCode !== null || p.signalCode !== null ? res(p.exitCode) : p.once('exit', (code) => res(code))));

describe('the replicator, killed at random', () => {
  it.skipIf(pg.skip)('converges to the primary exactly after 20 SIGKILLs during a workload', async () => {
    pg.check();
    const primary = await pg.fresh('prim');
    const primaryObjects = join(dir, 'primary-objects');
    await Volume.format(primary, { name: 'killed', storage: `file://${primaryObjects}`, trashDays: 1, blockSize: BLOCK });
    const mirror = `sqlite3://${join(dir, 'mirror.db')}`;
    const own = join(dir, 'mirror-objects');
    await createMirrorVolume(primary, mirror, { storage: `file://${own}` });

    const vol = await Volume.open(primary);
    let seed = 1;
    for (let kill = 0; kill < 20; kill++) {
      const child = replicator(mirror, primary);
      // The workload goes on while the replicator starts, applies, copies — and dies somewhere.
      const working = workload(vol, seed++, 25);
      await new Promise((res) => setTimeout(res, 100 + Math.floor(Math.random() * 700)));
      child.kill('SIGKILL');
      await exited(child);
      await working;
    }
    await vol.close();

    // Once more, left to finish, then stopped as an operator stops it.
    const last = replicator(mirror, primary);
    let out = '';
    last.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    // It says it is replicating once its signal handlers are in place; a SIGTERM before that
    // would kill it as any untrapped signal does, not stop it.
    await new Promise<void>((res, rej) => {
      let err = '';
      last.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('strata mirror: replicating')) res(); });
      last.once('exit', (code) => rej(new Error(`the last replicator exited (${code}) before it started: ${err}`)));
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await mirrorStatus(mirror, { primary });
      if (s.lagVersions === 0 && s.pendingBlocks === 0) break;
      if (Date.now() > deadline) throw new Error(`the mirror did not catch up: ${JSON.stringify(s)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    last.kill('SIGTERM');
    expect(await exited(last)).toBe(0);
    expect(out).toMatch(/^Stopped at version \d+/);

    expect(await dumpLines(mirror)).toEqual(await dumpLines(primary));
    const { driver } = await openDriver(parseMetaUrl(mirror));
    expect(await consistencyProblems(driver)).toEqual([]);
    const slices = await driver.read((c) => c.all('SELECT id, size FROM slice_refs'));
    await driver.close();
    expect(slices.length).toBeGreaterThan(0);
    const store = await openObjectStore(`file://${own}`);
    for (const s of slices) {
      for (const key of sliceBlockKeys(Number(s.id), Number(s.size), BLOCK)) expect(await store.head(`killed/${key}`), key).toBeDefined();
    }
    await store.close();
  }, 300_000);
});
