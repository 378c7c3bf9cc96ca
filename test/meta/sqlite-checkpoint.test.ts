// SQLite checkpoints on a worker thread: what a user of a volume relies on is that commits reach
// the database file itself while the volume stays open (meta.db alone is current, not only with
// its WAL), that closing returns, lets go of the files and leaves no WAL behind, and that two
// writers on one file lose nothing.
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatMeta, openMeta, ROOT_INODE, type FormatRequest, type Meta } from '../../src/meta/index.js';
import { builtModule, nodeAlone } from '../helpers/alone.js';

const REQ: FormatRequest = { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0 };
const file = { mode: 0o100644, uid: 1, gid: 1 };
/** Well past the commits after which the checkpoint thread starts, and far below the writer's own
 * checkpoint bound (about 1,200 creates): only a background checkpoint puts these in meta.db. */
const FILES = 300;

/** The test's names in the root as meta.db alone holds them, without its WAL. */
function namesInFileAlone(dir: string): number {
  const copy = join(dir, 'copy');
  copyFileSync(join(dir, 'meta.db'), join(copy, 'meta.db'));
  const db = new Database(join(copy, 'meta.db'));
  try {
    // Before any checkpoint the file does not even hold the tables (they were made in the WAL).
    const made = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'dentries'").get() as { n: number };
    if (made.n === 0) return 0;
    return (db.prepare("SELECT count(*) AS n FROM dentries WHERE parent = ? AND name GLOB '[abfg][0-9]*'").get(ROOT_INODE) as { n: number }).n;
  } finally {
    db.close();
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) if (existsSync(join(copy, f))) rmSync(join(copy, f));
  }
}

/**
 * In a process of its own (what a CLI command sees): format a volume at `url`, create the test's
 * files, let the checkpoint thread work, then run `then`. Worker threads inherit the process's
 * --input-type=module: the checkpoint thread must start anyway.
 */
function createAlone(url: string, then: string): Promise<{ stdout: string; stderr: string }> {
  return nodeAlone(`
    const { formatMeta } = await import(${JSON.stringify(builtModule('src', 'meta', 'index.js'))});
    const { meta } = await formatMeta(${JSON.stringify(url)}, ${JSON.stringify(REQ)});
    for (let i = 0; i < ${FILES}; i++) await meta.mknod(1, 'f' + i, ${JSON.stringify(file)});
    await new Promise((r) => setTimeout(r, 300));
    ${then}
  `);
}

/** Files under `dir` that this process has open. */
function openFilesUnder(dir: string): string[] {
  const held: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) held.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return held;
}

/** What `read` gives once it gives `want`, or at the end of `seconds`. A read that throws counts
 * as not yet: a copy taken while a checkpoint writes the file may be torn. */
async function eventually(read: () => number, want: number, seconds: number): Promise<number> {
  const attempt = () => {
    try {
      return read();
    } catch {
      return -1;
    }
  };
  let got = attempt();
  for (let waited = 0; got !== want && waited < seconds * 1000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    got = attempt();
  }
  return got;
}

describe('SQLite: checkpoints off the JS thread', () => {
  let dir: string;
  let url: string;
  const opened: Meta[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-ckpt-'));
    mkdirSync(join(dir, 'copy'));
    url = `sqlite3://${join(dir, 'meta.db')}`;
  });

  afterEach(async () => {
    for (const m of opened.splice(0)) await m.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('commits reach meta.db itself within seconds while the volume stays open', async () => {
    const meta = (await formatMeta(url, REQ)).meta;
    opened.push(meta);
    for (let i = 0; i < FILES; i++) await meta.mknod(ROOT_INODE, `f${i}`, file);
    expect(await eventually(() => namesInFileAlone(dir), FILES, 10)).toBe(FILES);
    // And it goes on doing so for later commits.
    for (let i = 0; i < 100; i++) await meta.mknod(ROOT_INODE, `g${i}`, file);
    expect(await eventually(() => namesInFileAlone(dir), FILES + 100, 10)).toBe(FILES + 100);
  });

  it('close lets go of the database at once, leaves no WAL behind, and a reopen sees every commit', async () => {
    const meta = (await formatMeta(url, REQ)).meta;
    opened.push(meta);
    for (let i = 0; i < FILES; i++) await meta.mknod(ROOT_INODE, `f${i}`, file);
    // The checkpoint thread is at work (it has copied these) when the volume closes.
    expect(await eventually(() => namesInFileAlone(dir), FILES, 10)).toBe(FILES);
    await meta.close();
    // Nothing of this process still holds the database (the checkpoint thread's connection is
    // closed with the volume, not later).
    expect(openFilesUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'meta.db-wal'))).toBe(false);
    expect(namesInFileAlone(dir)).toBe(FILES);
    const again = await openMeta(url);
    opened.push(again);
    expect((await again.readdir(ROOT_INODE, 0, 10_000)).filter((e) => e.name.startsWith('f'))).toHaveLength(FILES);
  });

  it('close() returns in a process that has nothing else to do (the checkpoint thread does not keep it waiting or let it end early)', async () => {
    const { stdout, stderr } = await createAlone(url, 'await meta.close(); console.log("closed");');
    expect(stderr).not.toMatch(/checkpoint/);
    expect(stdout.trim()).toBe('closed');
    expect(existsSync(join(dir, 'meta.db-wal'))).toBe(false);
    expect(namesInFileAlone(dir)).toBe(FILES);
  });

  it('a process that never closes its volume still exits when its work is done', async () => {
    const { stdout } = await createAlone(url, 'console.log("done");');
    expect(stdout.trim()).toBe('done');
    // Nothing committed is lost for want of a last checkpoint.
    const again = await openMeta(url);
    opened.push(again);
    expect((await again.readdir(ROOT_INODE, 0, 10_000)).filter((e) => e.name.startsWith('f'))).toHaveLength(FILES);
  });

  it('a checkpoint thread that cannot start says why, and every commit still succeeds', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const meta = (await formatMeta(url, REQ)).meta;
      opened.push(meta);
      // The thread opens the database by name; this process's connections keep the file open.
      rmSync(join(dir, 'meta.db'));
      for (let i = 0; i < FILES; i++) await meta.mknod(ROOT_INODE, `f${i}`, file);
      for (let waited = 0; warnings.length === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      expect(warnings.join('\n')).toMatch(/checkpoints of sqlite3:\/\/.*meta\.db stopped \((?!\[object)[^)]+\); SQLite checkpoints in line/);
      expect((await meta.readdir(ROOT_INODE, 0, 10_000)).filter((e) => e.name.startsWith('f'))).toHaveLength(FILES);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('two writers on one file, each with its own checkpoints, lose nothing and leave a sound database', async () => {
    const a = (await formatMeta(url, REQ)).meta;
    const b = await openMeta(url);
    opened.push(a, b);
    await Promise.all([
      (async () => { for (let i = 0; i < FILES; i++) await a.mknod(ROOT_INODE, `a${i}`, file); })(),
      (async () => { for (let i = 0; i < FILES; i++) await b.mknod(ROOT_INODE, `b${i}`, file); })(),
    ]);
    expect(await eventually(() => namesInFileAlone(dir), 2 * FILES, 10)).toBe(2 * FILES);
    await a.close();
    await b.close();
    const db = new Database(join(dir, 'meta.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});
