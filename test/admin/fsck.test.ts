// strata fsck, run as users run it, against damage made on purpose to real files: a block
// object deleted, one truncated, one with its bytes changed (found only with --check-checksums),
// link counts changed in the SQLite file. Each is named by the file's path; a clean volume
// passes; a subtree can be checked alone.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { strata } from '../helpers/cli.js';

const BLOCK = 64 * 1024;
let dir: string;
let url: string;
let objects: string;

interface Report { files: number; blocks: number; problems: { kind: string; path: string; key?: string }[] }
const fsck = (...args: string[]) => {
  const r = strata('fsck', url, ...args, '--json');
  return { code: r.code, err: r.err, report: JSON.parse(r.out || '{}') as Report };
};

/** The object file of block `n` of the file at `path` (file-store layout: {storage}/{volume}/{key}). */
async function blockFile(path: string, n = 0): Promise<string> {
  const vol = await Volume.open(url);
  try {
    const info = await vol.info(path);
    const keys = info.chunks.flatMap((c) => c.slices.flatMap((s) => s.keys));
    return join(objects, 'fsckvol', keys[n]);
  } finally {
    await vol.close();
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-fsck-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  objects = join(dir, 'objects');
  await Volume.format(url, { name: 'fsckvol', storage: `file://${objects}`, blockSize: BLOCK, trashDays: 0 });
  const vol = await Volume.open(url);
  for (const d of ['a', 'b', 'c', 'c/deep']) await vol.mkdir(`/${d}`);
  await vol.writeFile('/a/one', Buffer.alloc(BLOCK * 3, 1));
  await vol.writeFile('/b/two', Buffer.alloc(BLOCK * 2 + 10, 2));
  await vol.writeFile('/c/three', Buffer.alloc(BLOCK + 5, 3));
  await vol.writeFile('/c/deep/four', Buffer.alloc(1000, 4));
  await vol.link('/c/three', '/c/deep/three-again');
  await vol.close();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('strata fsck', () => {
  it('passes a healthy volume, with and without reading every block', () => {
    const plain = fsck();
    expect(plain.code, plain.err).toBe(0);
    expect(plain.report.files).toBe(4);
    expect(plain.report.blocks).toBe(3 + 3 + 2 + 1);
    expect(plain.report.problems).toEqual([]);
    expect(fsck('--check-checksums').code).toBe(0);
    expect(strata('fsck', url).out).toMatch(/No problems found/);
  });

  it('names a deleted block, a truncated block and changed bytes by file; the last only with --check-checksums', async () => {
    await fs.rm(await blockFile('/a/one', 1));
    const truncated = await blockFile('/b/two', 0);
    await fs.truncate(truncated, 1000);
    const changed = await blockFile('/c/three', 0);
    const bytes = await fs.readFile(changed);
    bytes[100] ^= 0xff;
    await fs.writeFile(changed, bytes);

    const plain = fsck();
    expect(plain.code).toBe(1);
    expect(plain.report.problems.map((p) => [p.kind, p.path])).toEqual([['missing-block', '/a/one'], ['wrong-size', '/b/two']]);
    const deep = fsck('--check-checksums');
    expect(deep.code).toBe(1);
    // A file with two names is reported under the one the walk met first.
    expect(deep.report.problems.map((p) => [p.kind, p.path.replace('/c/deep/three-again', '/c/three')]).sort()).toEqual([['bad-checksum', '/c/three'], ['missing-block', '/a/one'], ['wrong-size', '/b/two']].sort());
    const text = strata('fsck', url, '--check-checksums');
    expect(text.out).toMatch(/missing-block +\/a\/one \(inode \d+\): block chunks\/\S+ is not in the store/);
    expect(text.out).toMatch(/Files with missing or damaged data \(3\)/);
    // Checking a subtree, or one file, looks at it alone.
    const sub = fsck('/b');
    expect(sub.report.problems.map((p) => p.path)).toEqual(['/b/two']);
    const one = fsck('/a/one');
    expect(one.report.files).toBe(1);
    expect(one.report.problems.map((p) => [p.kind, p.path])).toEqual([['missing-block', '/a/one']]);
  }, 60_000);

  it('names link counts that disagree with the names, for directories and files', async () => {
    const vol = await Volume.open(url);
    const [four, deep] = [(await vol.stat('/c/deep/four')).ino, (await vol.stat('/c/deep')).ino];
    await vol.close();
    const db = new Database(join(dir, 'meta.db'));
    try {
      db.prepare('UPDATE inodes SET nlink = 5 WHERE ino = ?').run(four);
      db.prepare('UPDATE inodes SET nlink = 9 WHERE ino = ?').run(deep);
    } finally {
      db.close();
    }
    const r = fsck();
    const links = r.report.problems.filter((p) => p.kind === 'link-count').map((p) => p.path).sort();
    expect(links).toEqual(['/c/deep', '/c/deep/four']);
    expect(strata('fsck', url).out).toMatch(/link-count +\/c\/deep\/four \(inode \d+\): file has link count 5, but 1 name points at it/);
  });

  it('finds wrong counters and an orphaned inode too; --repair fixes counts, counters and orphans and lists what it cannot fix', async () => {
    const db = new Database(join(dir, 'meta.db'));
    let orphan: number;
    try {
      db.prepare("UPDATE counters SET value = value + 123456 WHERE name = 'used_bytes'").run();
      db.prepare("UPDATE counters SET value = value - 1 WHERE name = 'inodes'").run();
      // An inode no name reaches and no session has open: left behind, never freed.
      const row = db.prepare('SELECT * FROM inodes ORDER BY ino DESC LIMIT 1').get() as Record<string, unknown>;
      orphan = Number(row.ino) + 1000;
      const cols = Object.keys(row);
      db.prepare(`INSERT INTO inodes (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run({ ...row, ino: orphan, nlink: 1, stored: 0, length: 0 });
      // An entry naming an inode that is gone, and an orphan record of a file that has a name.
      const c = db.prepare("SELECT ino FROM dentries WHERE parent = 1 AND name = 'c'").get() as { ino: number };
      db.prepare('INSERT INTO dentries (parent, name, ino, type) VALUES (?, ?, ?, ?)').run(c.ino, 'ghost', orphan + 1, 0o100000);
      const two = db.prepare("SELECT ino FROM dentries WHERE name = 'two'").get() as { ino: number };
      db.prepare('INSERT INTO orphans (ino, since_ms) VALUES (?, ?)').run(two.ino, Date.now());
    } finally {
      db.close();
    }
    const found = fsck();
    expect(found.code).toBe(1);
    const volumeKinds = (r: Report) => r.problems.filter((p) => !p.kind.endsWith('block') && p.kind !== 'wrong-size').map((p) => p.kind).sort();
    expect(volumeKinds(found.report)).toEqual(['counter', 'counter', 'dangling', 'link-count', 'link-count', 'orphan', 'stale-orphan']);
    expect(strata('fsck', url).out).toMatch(/counter +\(volume\): counter used_bytes is \d+, but the inodes add up to \d+/);

    // A repair of a subtree is refused: counters and orphans belong to the whole volume.
    const sub = strata('fsck', url, '/c', '--repair');
    expect(sub.code).toBe(2);
    expect(sub.err).toMatch(/--repair checks the whole volume/);

    const repair = strata('fsck', url, '--repair');
    // Block damage is listed, not repaired: still exit 1.
    expect(repair.code).toBe(1);
    expect(repair.out).toMatch(/orphan +\(inode \d+\): .* \[repaired\]/);
    expect(repair.out).toMatch(/dangling +\(directory \d+\): entry "ghost" names inode \d+, which does not exist \[repaired\]/);
    expect(repair.out).toMatch(/link-count +\/c\/deep \(inode \d+\): .* \[repaired\]/);
    expect(repair.out).toMatch(/Missing or damaged data is not repaired/);
    const after = fsck();
    expect(volumeKinds(after.report)).toEqual([]);
    expect(after.report.problems.map((p) => p.kind).sort()).toEqual(['missing-block', 'wrong-size']);
    const vol = await Volume.open(url);
    try {
      expect((await vol.stat('/c/deep')).nlink).toBe(2);
      expect((await vol.stat('/c/deep/four')).nlink).toBe(1);
      // The unreachable inode still had a link: kept, under lost+found.
      expect(await vol.readdir('/lost+found')).toEqual([`#${orphan}`]);
      expect(await vol.readdir('/c')).not.toContain('ghost');
    } finally {
      await vol.close();
    }
    // Safe to run twice: nothing left to repair.
    expect(strata('fsck', url, '--repair').out).not.toMatch(/\[repaired\]/);
  }, 60_000);

  it('refuses a path that is not in the volume and a URL that holds no volume', () => {
    const none = strata('fsck', url, '/no/such');
    expect(none.code).not.toBe(0);
    expect(none.err).toMatch(/\/no\/such: no such file or directory/);
    const empty = strata('fsck', `sqlite3://${join(dir, 'nothing.db')}`);
    expect(empty.code).not.toBe(0);
    expect(empty.err).toMatch(/no Strata volume at sqlite3:/);
  });
});
