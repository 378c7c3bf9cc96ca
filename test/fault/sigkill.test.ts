// Crash safety: a child process writing through the built SDK is SIGKILLed at three different
// points (during a multi-block write, during fsync, after a random delay). After each kill a new
// session must find every file the child reported as synced with exactly that content, and the
// metadata must be whole: slice reference counts, dentries, counters, and every object a slice
// needs on disk and verifying. Once the dead session is cleaned and a reclaim has run, freed
// slices' objects are gone and nothing referenced is missing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { openMeta } from '../../src/meta/index.js';
import { CHUNK_SIZE, sliceBlockKeys, verifyStoredBlock } from '../../src/chunk/index.js';
import { dataBytesInChunks, type Span } from '../../src/meta/coverage.js';

const BS = 64 * 1024;
const VOLUME = 'crash';
const CHILD = fileURLToPath(new URL('./writer-child.mjs', import.meta.url));
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

let dir: string;
let metaUrl: string;
let dbPath: string;
let storageDir: string;

/** Children run dist/: say so plainly when it is older than src/ (a schema or protocol mismatch
 * between the parent's src and the child's dist then shows up as a confusing failure). */
async function warnIfDistStale(): Promise<void> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const stale: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) await visit(r);
      else if (r.endsWith('.ts') && !r.endsWith('.d.ts')) {
        const built = await stat(join(root, 'dist', r.replace(/\.ts$/, '.js'))).catch(() => null);
        if (!built || built.mtimeMs < (await stat(join(root, r))).mtimeMs) stale.push(r);
      }
    }
  };
  await visit('src');
  if (stale.length) console.warn(`[fault] dist/ is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}: run bash scripts/build.sh`);
}

beforeAll(async () => {
  await warnIfDistStale();
  dir = await mkdtemp(join(tmpdir(), 'strata-fault-kill-'));
  dbPath = join(dir, 'meta.db');
  metaUrl = `sqlite3://${dbPath}`;
  storageDir = join(dir, 'objects');
  await Volume.format(metaUrl, { name: VOLUME, storage: `file://${storageDir}`, trashDays: 0, blockSize: BS });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Synced { sha: string; length: number; round: number }
/** Every claim any child made: path -> content hash. */
const synced = new Map<string, Synced>();

type KillAt = { afterSynced: number; on: 'BIG' | 'SYNCING' } | { afterSynced: number; on: 'delay'; delayMs: number };

interface ChildRun { pid: number; session: number; signal: NodeJS.Signals | null; code: number | null; killedOn: string; failures: string[]; stderr: string }

/** Run the writer child until the kill point, SIGKILL it, and collect its claims. */
function runChild(prefix: string, seed: number, round: number, kill: KillAt): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, metaUrl, prefix, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { pid: child.pid ?? -1, session: -1, signal: null, code: null, killedOn: '', failures: [], stderr: '' };
    let count = 0;
    let killed = false;
    const guard = setTimeout(() => { run.failures.push('child never reached its kill point'); child.kill('SIGKILL'); }, 20_000);
    const doKill = (why: string) => {
      if (killed) return;
      killed = true;
      run.killedOn = why;
      child.kill('SIGKILL');
    };
    child.stderr.on('data', (d: Buffer) => { run.stderr += d.toString(); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (killed) return; // anything after the kill signal was sent cannot be relied upon
      const [word, path, sha, length] = line.split(' ');
      if (word === 'READY') run.session = Number(sha);
      else if (word === 'FAIL') run.failures.push(line);
      else if (word === 'SYNCED') {
        synced.set(path!, { sha: sha!, length: Number(length), round });
        count++;
        if (count >= kill.afterSynced && kill.on === 'delay') setTimeout(() => doKill(`${kill.delayMs} ms after ${count} synced`), kill.delayMs);
      } else if (word === kill.on && count >= kill.afterSynced) {
        doKill(line);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

async function walk(d: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
    const p = join(d, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** Object keys (relative to the volume) of the block files on disk; in-flight temp files excluded. */
async function objectsOnDisk(): Promise<Set<string>> {
  const root = join(storageDir, VOLUME);
  const keys = (await walk(root)).map((f) => relative(root, f).split(sep).join('/'));
  return new Set(keys.filter((k) => /^chunks\/\d+\/\d+\/\d+_\d+_\d+$/.test(k)));
}

function objectPath(key: string): string {
  return join(storageDir, VOLUME, ...key.split('/'));
}

interface Snapshot {
  problems: string[];
  /** Keys of blocks that slices reference. */
  referenced: Set<string>;
  /** Slice ids waiting for their objects to be deleted, with their keys. */
  pendingKeys: string[];
  orphans: number;
  /** Keys of the blocks of orphans' slices. */
  orphanKeys: string[];
  openFiles: number;
  sessions: number[];
}

/** Read the SQLite file directly (read-only) and list every inconsistency found. */
async function inspect(): Promise<Snapshot> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  const problems: string[] = [];
  const q = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).all(...args) as T[];
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);

    for (const r of q<{ id: number; uses: number; refs: number | null }>(
      `SELECT s.id, count(*) AS uses, r.refs FROM slices s LEFT JOIN slice_refs r ON r.id = s.id
       WHERE s.id != 0 GROUP BY s.id HAVING r.refs IS NULL OR r.refs != count(*)`)) {
      problems.push(`slice ${r.id}: used by ${r.uses} slice rows but slice_refs.refs = ${r.refs}`);
    }
    for (const r of q<{ id: number; refs: number }>('SELECT id, refs FROM slice_refs r WHERE NOT EXISTS (SELECT 1 FROM slices s WHERE s.id = r.id)')) {
      problems.push(`slice_refs ${r.id} (refs ${r.refs}) has no slice row: its objects leak`);
    }
    for (const r of q<{ id: number; a: number; b: number }>('SELECT s.id, s.size AS a, r.size AS b FROM slices s JOIN slice_refs r ON r.id = s.id WHERE s.size != r.size')) {
      problems.push(`slice ${r.id}: size ${r.a} in slices but ${r.b} in slice_refs`);
    }
    for (const r of q<{ id: number }>('SELECT id FROM pending_slices p WHERE EXISTS (SELECT 1 FROM slices s WHERE s.id = p.id) OR EXISTS (SELECT 1 FROM slice_refs r WHERE r.id = p.id)')) {
      problems.push(`slice ${r.id} is pending deletion but still referenced`);
    }
    for (const r of q<{ ino: number; chunk: number; seq: number; id: number; size: number; pos: number; off: number; len: number }>(
      'SELECT * FROM slices WHERE len <= 0 OR pos < 0 OR pos + len > ? OR (id != 0 AND off + len > size)', CHUNK_SIZE)) {
      problems.push(`malformed slice row ${JSON.stringify(r)}`);
    }
    for (const r of q<{ ino: number }>('SELECT DISTINCT ino FROM slices s WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = s.ino)')) {
      problems.push(`slices of inode ${r.ino}, which does not exist`);
    }
    for (const r of q<{ parent: number; name: string; ino: number }>('SELECT parent, name, ino FROM dentries d WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = d.ino)')) {
      problems.push(`dentry ${r.parent}/${r.name} points at missing inode ${r.ino}`);
    }
    for (const r of q<{ parent: number; name: string }>('SELECT parent, name FROM dentries d WHERE NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = d.parent)')) {
      problems.push(`dentry ${r.parent}/${r.name} lies in a missing directory`);
    }
    for (const r of q<{ ino: number; nlink: number; names: number }>(
      `SELECT i.ino, i.nlink, (SELECT count(*) FROM dentries d WHERE d.ino = i.ino) AS names FROM inodes i
       WHERE (i.mode & ${S_IFMT}) = ${S_IFREG} AND i.nlink != (SELECT count(*) FROM dentries d WHERE d.ino = i.ino)`)) {
      problems.push(`file inode ${r.ino}: nlink ${r.nlink} but ${r.names} names`);
    }
    // A nameless inode must be an orphan that some registered session still holds open.
    for (const r of q<{ ino: number; orphan: number; held: number }>(
      `SELECT i.ino, EXISTS (SELECT 1 FROM orphans o WHERE o.ino = i.ino) AS orphan,
              EXISTS (SELECT 1 FROM open_files f JOIN sessions s ON s.id = f.session WHERE f.ino = i.ino) AS held
       FROM inodes i WHERE i.ino != 1 AND NOT EXISTS (SELECT 1 FROM dentries d WHERE d.ino = i.ino)`)) {
      if (!r.orphan || !r.held) problems.push(`inode ${r.ino} has no name and is ${r.orphan ? 'an orphan no session holds' : 'not an orphan'}`);
    }
    for (const r of q<{ session: number; ino: number }>(
      'SELECT session, ino FROM open_files f WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = f.session) OR NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = f.ino)')) {
      problems.push(`open_files row (session ${r.session}, inode ${r.ino}) refers to a missing session or inode`);
    }
    const counters = new Map(q<{ name: string; value: number }>('SELECT name, value FROM counters').map((r) => [r.name, r.value]));
    // Each file's stored bytes are what its slices hold, and used space is their sum by 4 KiB.
    for (const f of q<{ ino: number; stored: number }>(`SELECT ino, stored FROM inodes WHERE (mode & ${S_IFMT}) = ${S_IFREG}`)) {
      const holds = dataBytesInChunks(q<Span & { chunk: number }>('SELECT chunk, id, pos, len FROM slices WHERE ino = ? ORDER BY chunk, seq', f.ino), CHUNK_SIZE);
      if (holds !== f.stored) problems.push(`file inode ${f.ino}: stored ${f.stored} but its slices hold ${holds} bytes`);
    }
    const used = (db.prepare(`SELECT coalesce(sum(((stored + 4095) / 4096) * 4096), 0) AS v FROM inodes WHERE (mode & ${S_IFMT}) = ${S_IFREG}`).get() as { v: number }).v;
    const inodes = (db.prepare('SELECT count(*) AS v FROM inodes').get() as { v: number }).v;
    if (counters.get('used_bytes') !== used) problems.push(`counter used_bytes = ${counters.get('used_bytes')} but files take ${used}`);
    if (counters.get('inodes') !== inodes) problems.push(`counter inodes = ${counters.get('inodes')} but there are ${inodes}`);

    // Every block a slice needs is on disk, whole, and verifies under its own name.
    const referenced = new Set<string>();
    for (const r of q<{ id: number; size: number }>('SELECT id, size FROM slice_refs')) {
      for (const key of sliceBlockKeys(r.id, r.size, BS)) referenced.add(key);
    }
    for (const key of referenced) {
      const blockLength = Number(key.slice(key.lastIndexOf('_') + 1));
      const bytes = await readFile(objectPath(key)).catch(() => null);
      if (bytes === null) problems.push(`object ${key} of a live slice is missing`);
      else {
        const bad = verifyStoredBlock(bytes, key, blockLength);
        if (bad) problems.push(`object ${key} of a live slice: ${bad.message}`);
      }
    }
    const pendingKeys = q<{ id: number; size: number }>('SELECT id, size FROM pending_slices').flatMap((r) => sliceBlockKeys(r.id, r.size, BS));
    const orphans = (db.prepare('SELECT count(*) AS v FROM orphans').get() as { v: number }).v;
    const orphanKeys = q<{ id: number; size: number }>('SELECT DISTINCT s.id, s.size FROM slices s JOIN orphans o ON o.ino = s.ino WHERE s.id != 0')
      .flatMap((r) => sliceBlockKeys(r.id, r.size, BS));
    const openFiles = (db.prepare('SELECT count(*) AS v FROM open_files').get() as { v: number }).v;
    const sessions = q<{ id: number }>('SELECT id FROM sessions ORDER BY id').map((r) => r.id);
    return { problems, referenced, pendingKeys, orphans, orphanKeys, openFiles, sessions };
  } finally {
    db.close();
  }
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const ROUNDS: { kill: KillAt; clean: 'meta' | 'housekeeping' }[] = [
  { kill: { afterSynced: 3, on: 'BIG' }, clean: 'meta' },
  { kill: { afterSynced: 4, on: 'SYNCING' }, clean: 'housekeeping' },
  { kill: { afterSynced: 5, on: 'delay', delayMs: 1 + Math.floor(Math.random() * 15) }, clean: 'housekeeping' },
];

describe('SIGKILL of a writing process', () => {
  ROUNDS.forEach(({ kill, clean }, round) => {
    it(`round ${round + 1}: killed ${kill.on === 'delay' ? `${kill.delayMs} ms after a synced file` : `at ${kill.on}`}; synced files survive, metadata stays whole`, async () => {
      const before = synced.size;
      const run = await runChild(`r${round}`, 0x9e3779b9 ^ (round * 7919 + 17), round, kill);
      expect(run.failures, `child failures; stderr:\n${run.stderr}`).toEqual([]);
      expect(run.signal, `child exited by itself (code ${run.code}); stderr:\n${run.stderr}`).toBe('SIGKILL');
      expect(synced.size - before).toBeGreaterThanOrEqual(kill.afterSynced);
      expect(run.session).toBeGreaterThan(0);

      // Straight after the crash: the dead session is still registered, and the metadata is whole.
      const crashed = await inspect();
      expect(crashed.problems, 'metadata right after the kill').toEqual([]);
      expect(crashed.sessions).toContain(run.session);
      expect(crashed.orphans, 'the unlinked file the child held open').toBeGreaterThanOrEqual(1);

      const filesBefore = await objectsOnDisk();
      for (const key of crashed.referenced) expect(filesBefore.has(key), `referenced object ${key}`).toBe(true);

      let vol: Volume;
      if (clean === 'meta') {
        // No live client: an administrator's cleanup closes every session.
        const meta = await openMeta(metaUrl);
        try {
          expect(await meta.cleanStaleSessions(0)).toBeGreaterThanOrEqual(1);
          expect((await meta.sessions()).map((s) => s.id)).not.toContain(run.session);
        } finally {
          await meta.close();
        }
        vol = await Volume.open(metaUrl, { reclaimMs: 50 });
      } else {
        // A surviving client's housekeeping closes the session that stopped heartbeating and not
        // its own, which keeps beating.
        vol = await Volume.open(metaUrl, { reclaimMs: 50, heartbeatMs: 40 });
        await new Promise((r) => setTimeout(r, 300));
        await vol.vfs.housekeeping(250);
        const left = (await vol.vfs.meta.sessions()).map((s) => s.id);
        expect(left).toEqual([vol.vfs.session]);
      }
      try {
        // Every claim from every round so far reads back exactly.
        for (const [path, want] of synced) {
          const got = await vol.readFile(path);
          expect({ path, length: got.length, sha: sha256(got) }).toEqual({ path, length: want.length, sha: want.sha });
        }

        // With the dead session gone its orphans are freed and nothing is held open. Our own closes
        // reach meta in batches (a timer); send them now, or the reads above may still count.
        await vol.vfs.flushReleases();
        const cleaned = await inspect();
        expect(cleaned.problems, 'metadata after cleaning the dead session').toEqual([]);
        expect(cleaned.sessions).toEqual([vol.vfs.session]);
        expect(cleaned.orphans).toBe(0);
        expect(cleaned.openFiles).toBe(0);

        // Reclaim deletes the objects of every freed slice; nothing referenced goes.
        await until('pending slices reclaimed', async () => (await vol.vfs.meta.usage()).pendingSlices === 0);
        const after = await inspect();
        expect(after.problems, 'metadata after reclaim').toEqual([]);
        const onDisk = await objectsOnDisk();
        const missing = [...after.referenced].filter((k) => !onDisk.has(k));
        expect(missing, 'referenced objects missing after reclaim').toEqual([]);
        expect(crashed.orphanKeys.length).toBeGreaterThan(0);
        const notFreed = [...cleaned.pendingKeys, ...crashed.orphanKeys].filter((k) => onDisk.has(k));
        expect(notFreed, "objects of reclaimed slices (the dead session's orphan included) still on disk").toEqual([]);
        // Blocks uploaded by the child for slices it never committed have no metadata at all:
        // only a gc (listing the store against slice ids) could find them.
        const unreferenced = [...onDisk].filter((k) => !after.referenced.has(k));
        console.info(`[sigkill round ${round + 1}] killed on "${run.killedOn}"; ${synced.size - before} synced; ` +
          `dead session held ${crashed.openFiles} open files (${crashed.orphans} orphans); ${after.referenced.size} referenced objects, ${unreferenced.length} unreferenced (uncommitted uploads of the killed process)`);
        // They must at least not be a slice's that metadata still knows of in any form.
        const stray = unreferenced.filter((k) => crashed.pendingKeys.includes(k) || cleaned.pendingKeys.includes(k));
        expect(stray).toEqual([]);
        // Stat each unreferenced object: a crash never leaves a temp file under a block's name
        // that would fail verification (each put is write-to-temp then rename).
        for (const key of unreferenced) {
          const st = await stat(objectPath(key));
          const blockLength = Number(key.slice(key.lastIndexOf('_') + 1));
          expect(st.size, `size of unreferenced object ${key}`).toBe(blockLength + 8);
        }
      } finally {
        await vol.close();
      }
    });
  });

  it('after all rounds a fresh session still reads every synced file and closing leaves no session', async () => {
    expect(synced.size).toBeGreaterThanOrEqual(ROUNDS.reduce((n, r) => n + r.kill.afterSynced, 0));
    const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
    try {
      for (const [path, want] of synced) expect(sha256(await vol.readFile(path)), path).toBe(want.sha);
    } finally {
      await vol.close();
    }
    const final = await inspect();
    expect(final.problems).toEqual([]);
    expect(final.sessions).toEqual([]);
  });
});
