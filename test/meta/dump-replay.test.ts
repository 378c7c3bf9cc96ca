// Moving a volume between engines: dump/load gives the same volume on SQLite, PostgreSQL and
// MariaDB, and a reader that replays one engine's change log into another while a workload runs
// ends with the same volume — dump(A) equals dump(B) — including renames within a directory,
// RENAME_EXCHANGE, hard links, the trash and truncation. Bad dumps change nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { Volume } from '../../src/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import type { SqlDriver } from '../../src/meta/sql/driver.js';
import { dumpVolume, loadVolume } from '../../src/meta/sql/dump.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { applyChange } from '../../src/meta/sql/replica.js';
import { openMeta, ROOT_INODE } from '../../src/meta/index.js';
import { databases } from '../helpers/databases.js';
import { dumpLines, workload } from '../helpers/replication.js';

const pg = databases('postgres');
const my = databases('mysql');
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-dump-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sqliteUrl = () => `sqlite3://${join(dir, `v${n++}.db`)}`;

async function driverOf(url: string, create = false): Promise<SqlDriver> {
  return (await openDriver(parseMetaUrl(url), { create })).driver;
}

async function* each(lines: string[]): AsyncGenerator<string> {
  for (const l of lines) yield l;
}

async function load(url: string, lines: string[]): Promise<void> {
  const db = await driverOf(url, true);
  try {
    await loadVolume(db, each(lines));
  } finally {
    await db.close();
  }
}

async function newVolume(url: string): Promise<void> {
  await Volume.format(url, { name: 'moved', storage: `file://${join(dir, 'objects')}`, trashDays: 1 });
}

describe('dump and load', () => {
  it('SQLite -> PostgreSQL -> MariaDB -> SQLite: every engine holds the same volume, whole, and it works', async () => {
    pg.check();
    my.check();
    const a = sqliteUrl();
    await newVolume(a);
    const vol = await Volume.open(a);
    await workload(vol, 7, 300);
    await vol.close();
    const original = await dumpLines(a);
    let from = a;
    for (const to of [await pg.fresh('dump'), await my.fresh('dump'), sqliteUrl()]) {
      await load(to, await dumpLines(from));
      expect(await dumpLines(to), `${from} -> ${to}`).toEqual(original);
      const db = await driverOf(to);
      expect(await consistencyProblems(db)).toEqual([]);
      await db.close();
      from = to;
    }
    // The last copy is a working volume over the same objects: same bytes, and it takes writes.
    const copy = await Volume.open(from);
    const back = await Volume.open(a);
    for (const d of ['/w/a', '/w/b']) {
      for (const e of await back.readdir(d, { withFileTypes: true })) {
        if (e.isFile()) expect((await copy.readFile(`${d}/${e.name}`)).equals(await back.readFile(`${d}/${e.name}`))).toBe(true);
      }
    }
    await copy.writeFile('/after-load', 'new');
    expect(await copy.readFile('/after-load', 'utf8')).toBe('new');
    await copy.close();
    await back.close();
  }, 240_000);

  it('refuses a dump that was cut short, a damaged line, or a target that holds a volume — and loads nothing', async () => {
    const a = sqliteUrl();
    await newVolume(a);
    const lines = await dumpLines(a);
    const target = sqliteUrl();
    const tries: [string, string[], RegExp][] = [
      ['cut short', lines.slice(0, -1), /cut short/],
      ['damaged', [...lines.slice(0, 3), '{"table": "inodes", "row": ', ...lines.slice(3)], /not JSON/],
      ['miscounted', [...lines.slice(0, -1), lines.at(-1)!.replace(/"inodes":\d+/, '"inodes":99')], /damaged/],
      ['not a dump', ['{"hello": 1}'], /not a Strata volume dump/],
    ];
    for (const [what, bad, message] of tries) {
      await expect(load(target, bad), what).rejects.toThrow(message);
      await expect(openMeta(target), what).rejects.toMatchObject({ code: 'ENOENT' });
    }
    await load(target, lines);
    await expect(load(target, lines)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('leaves plaintext storage credentials out and says so; a dump streams rows, it does not gather them', async () => {
    const a = sqliteUrl();
    await Volume.format(a, { name: 'secret', storage: 'file:///nowhere-needed', trashDays: 0 });
    const meta = await openMeta(a);
    await meta.configure({ storageCredentials: JSON.stringify({ accessKey: 'AK', secretKey: 'TOPSECRET' }) });
    for (let i = 0; i < 2500; i++) await meta.mknod(ROOT_INODE, `f${i}`, { mode: 0o100644, uid: 0, gid: 0 });
    await meta.close();
    const db = await driverOf(a);
    const lines: string[] = [];
    let maxPendingBeforeFirstWrite = 0;
    let progressCalls = 0;
    const result = await dumpVolume(db, async (l) => { lines.push(l); }, { progress: () => { progressCalls++; maxPendingBeforeFirstWrite = Math.max(maxPendingBeforeFirstWrite, lines.length); } });
    await db.close();
    expect(lines.join('\n')).not.toContain('TOPSECRET');
    expect(result.omitted).toEqual(['storageCredentials']);
    expect(result.rows.inodes).toBe(2502);
    // Rows were handed out while later pages were still to be read.
    expect(progressCalls).toBeGreaterThan(2);
  });
});

describe('replaying a change log into another engine while a workload runs', () => {
  async function replayPair(source: string, replica: string): Promise<void> {
    await newVolume(source);
    await load(replica, await dumpLines(source));
    const src = await openMeta(source);
    const dst = await driverOf(replica);
    let applied = (await src.version());
    let stop = false;
    const tail = async () => {
      while (!stop) {
        const batch = await src.changes(applied, 200);
        for (const e of batch) {
          await applyChange(dst, e);
          applied = e.version;
        }
        if (batch.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    };
    const tailing = tail();
    let failed: unknown = null;
    tailing.catch((err: unknown) => { failed = err; });
    const vol = await Volume.open(source);
    await workload(vol, 11 + n, 250);
    await vol.rm('/w/a', { recursive: true, force: true }).catch(() => undefined);
    await vol.close();
    const last = await src.version();
    while (applied < last && !failed) await new Promise((r) => setTimeout(r, 10));
    if (failed) throw failed;
    stop = true;
    await tailing;
    // Applying an entry again changes nothing.
    for (const e of await src.changes(last - 5, 5)) expect(await applyChange(dst, e)).toBe(false);
    await src.close();
    expect(await consistencyProblems(dst)).toEqual([]);
    await dst.close();
    expect(await dumpLines(replica)).toEqual(await dumpLines(source));
  }

  it('SQLite -> PostgreSQL', async () => {
    pg.check();
    await replayPair(sqliteUrl(), await pg.fresh('replay'));
  }, 240_000);

  it('PostgreSQL -> SQLite', async () => {
    pg.check();
    await replayPair(await pg.fresh('replay'), sqliteUrl());
  }, 240_000);

  it('SQLite -> MariaDB', async () => {
    my.check();
    await replayPair(sqliteUrl(), await my.fresh('replay'));
  }, 240_000);

  it('a gap in the versions is refused, naming what is missing', async () => {
    const source = sqliteUrl();
    const replica = sqliteUrl();
    await newVolume(source);
    await load(replica, await dumpLines(source));
    const src = await openMeta(source);
    const from = await src.version();
    await src.mkdir(ROOT_INODE, 'one', { mode: 0o040755, uid: 0, gid: 0 });
    await src.mkdir(ROOT_INODE, 'two', { mode: 0o040755, uid: 0, gid: 0 });
    const [, second] = await src.changes(from, 10);
    await src.close();
    const dst = await driverOf(replica);
    await expect(applyChange(dst, second!)).rejects.toThrow(/resync needed/);
    await dst.close();
  });
});
