// Several processes (as several hosts) racing renames — plain, NOREPLACE and EXCHANGE, files and
// directories across directories — links, unlinks, creates, mkdirs and rmdirs on one small tree.
// Each call either succeeds or fails with an errno POSIX allows it; never EIO, never a deadlock
// left unresolved. Afterwards the metadata is whole: link counts, parent links, directories
// hanging from the root, slice references and the counters all agree.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { formatMeta, ROOT_INODE } from '../../src/meta/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { databases } from '../helpers/databases.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'race-child.mjs');
const WRITERS = 4;
const OPS = 300;

function runChild(url: string, seed: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CHILD, url, String(seed), String(OPS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => resolve({ code, out }));
  });
}

async function race(url: string): Promise<void> {
  const { meta } = await formatMeta(url, { name: 'race', storage: 'file:///tmp/x', trashDays: 1 });
  const top = await meta.mkdir(ROOT_INODE, 'race', { mode: 0o040755, uid: 0, gid: 0 });
  for (const d of ['d1', 'd2', 'd3']) await meta.mkdir(top.ino, d, { mode: 0o040755, uid: 0, gid: 0 });
  await meta.close();
  const results = await Promise.all(Array.from({ length: WRITERS }, (_, k) => runChild(url, 1000 + k * 7919 + Date.now() % 1000)));
  for (const r of results) expect(r.code, r.out).toBe(0);
  const done = results.map((r) => JSON.parse(r.out.trim().split('\n').at(-1)!) as { ok: number });
  expect(done.reduce((n, r) => n + r.ok, 0)).toBeGreaterThan(WRITERS * OPS / 10);
  const { driver } = await openDriver(parseMetaUrl(url));
  try {
    expect(await consistencyProblems(driver)).toEqual([]);
  } finally {
    await driver.close();
  }
}

describe('racing writers in separate processes keep the metadata whole', () => {
  const pg = databases('postgres');
  const my = databases('mysql');
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-race-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('SQLite: 4 processes on one file', async () => {
    await race(`sqlite3://${join(dir, 'meta.db')}`);
  }, 180_000);

  it.skipIf(pg.skip)('PostgreSQL: 4 processes', async () => {
    await race(await pg.fresh('race'));
  }, 180_000);

  it.skipIf(my.skip)('MariaDB: 4 processes', async () => {
    await race(await my.fresh('race'));
  }, 180_000);
});
