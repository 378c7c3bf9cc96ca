// Several real processes on one SQLite volume: concurrent creates and flock across processes,
// including a process killed while holding a lock. The children run the BUILT engine (dist/),
// through test/meta/child-worker.mjs; dist is rebuilt first if the metadata sources are newer.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatMeta, ROOT_INODE, type Meta } from '../../src/meta/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const worker = join(here, 'child-worker.mjs');
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Source files of the engine whose built .js is older than the source (or missing). */
function staleBuilds(): string[] {
  const stale: string[] = [];
  for (const top of ['src/meta', 'src/errors', 'src/config']) {
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
          const built = join(repo, 'dist', relative(repo, p).replace(/\.ts$/, '.js'));
          let builtMs = 0;
          try {
            builtMs = statSync(built).mtimeMs;
          } catch {
            // missing: stale
          }
          if (builtMs < statSync(p).mtimeMs) stale.push(relative(repo, p));
        }
      }
    };
    walk(join(repo, top));
  }
  return stale;
}

/** One child process speaking the worker's line protocol. */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<number>;
  #waiting: ((reply: Reply) => void)[] = [];
  #stderr = '';

  constructor(metaUrl: string) {
    this.proc = spawn(process.execPath, [worker, metaUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let onReady!: (pid: number) => void;
    let onFail!: (err: Error) => void;
    this.ready = new Promise<number>((resolve, reject) => { onReady = resolve; onFail = reject; });
    void this.exited.then(({ code, signal }) => {
      const err = new Error(`child exited (code ${code}, signal ${signal}): ${this.#stderr}`);
      onFail(err);
      for (const w of this.#waiting.splice(0)) w({ ok: false, code: 'EXITED', message: err.message });
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Reply & { ready?: boolean; pid?: number };
      if (msg.ready) onReady(msg.pid!);
      else this.#waiting.shift()?.(msg);
    });
  }

  request(req: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Call a Meta method in the child; resolves with its value or rejects with its errno code. */
  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.request({ op: 'call', method, args });
    if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code });
    return r.value;
  }

  async exit(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await this.request({ op: 'exit' });
    await this.exited;
  }
}

type Reply = { ok: true; value: unknown } | { ok: false; code: string | null; message: string };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
}

describe('SQLite volume shared by several processes', () => {
  let dir: string;
  let metaUrl: string;
  let meta: Meta;
  let children: Child[] = [];
  const child = (): Child => {
    const c = new Child(metaUrl);
    children.push(c);
    return c;
  };

  beforeAll(() => {
    if (staleBuilds().length > 0) {
      // The children import dist/: compile the TypeScript (tsc emits even if some unrelated file
      // has type errors, so only the staleness check below decides).
      try {
        execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], { cwd: repo, stdio: 'pipe', timeout: 120_000 });
      } catch {
        // judged below
      }
      const still = staleBuilds();
      if (still.length > 0) throw new Error(`dist/ is older than ${still.join(', ')}: run "bash scripts/build.sh"`);
    }
  }, 180_000);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-mp-'));
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    meta = (await formatMeta(metaUrl, { name: 'mp', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: 0 })).meta;
  });

  afterEach(async () => {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
    children = [];
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two processes creating 500 files each in one directory all succeed with distinct inodes', async () => {
    const d = await meta.mkdir(ROOT_INODE, 'shared', { mode: S_IFDIR | 0o777, uid: 0, gid: 0 });
    const a = child();
    const b = child();
    const [pidA, pidB] = await Promise.all([a.ready, b.ready]);
    expect(pidA).not.toBe(pidB);
    const v0 = await meta.version();

    const [ra, rb] = await Promise.all([
      a.request({ op: 'create', dir: d.ino, prefix: 'a', count: 500 }),
      b.request({ op: 'create', dir: d.ino, prefix: 'b', count: 500 }),
    ]);
    expect(ra, JSON.stringify(ra).slice(0, 500)).toMatchObject({ ok: true });
    expect(rb, JSON.stringify(rb).slice(0, 500)).toMatchObject({ ok: true });
    const inosA = (ra as { value: number[] }).value;
    const inosB = (rb as { value: number[] }).value;
    expect(inosA).toHaveLength(500);
    expect(inosB).toHaveLength(500);
    const all = new Set([...inosA, ...inosB]);
    expect(all.size).toBe(1000);

    // This process sees every entry, each naming the inode its creator reported.
    const listed = await meta.readdir(d.ino, 0, 5000);
    expect(listed.length).toBe(1002);
    const byName = new Map(listed.slice(2).map((e) => [e.name, e]));
    expect(byName.size).toBe(1000);
    for (let i = 0; i < 500; i++) {
      expect(byName.get(`a${i}`)?.ino).toBe(inosA[i]);
      expect(byName.get(`b${i}`)?.ino).toBe(inosB[i]);
    }
    const sample = await meta.lookup(d.ino, 'b499');
    expect(sample.mode & S_IFREG).toBe(S_IFREG);
    expect(sample.uid).toBe(pidB);
    // One version per create, none lost or doubled.
    expect((await meta.version()) - v0).toBe(1000);
    expect(await a.call('version')).toBe(await meta.version());
    await Promise.all([a.exit(), b.exit()]);
    expect(await a.exited).toEqual({ code: 0, signal: null });
  });

  it('a flock held by another process is EAGAIN until released, or until that process dies and is cleaned up', async () => {
    const f = await meta.mknod(ROOT_INODE, 'locked', { mode: S_IFREG | 0o644, uid: 0, gid: 0 });
    const a = child();
    const pidA = await a.ready;
    const sessionA = (await a.call('newSession', { pid: pidA, who: 'A' })) as number;
    const sessionB = await meta.newSession({ pid: process.pid, who: 'B' });

    await a.call('flock', f.ino, sessionA, 'fd-a', 'write');
    expect(await codeOf(meta.flock(f.ino, sessionB, 'fd-b', 'write'))).toBe('EAGAIN');
    expect(await codeOf(meta.flock(f.ino, sessionB, 'fd-b', 'read'))).toBe('EAGAIN');
    await a.call('flock', f.ino, sessionA, 'fd-a', 'unlock');
    await meta.flock(f.ino, sessionB, 'fd-b', 'write');
    expect(await codeOf(a.call('flock', f.ino, sessionA, 'fd-a', 'read'))).toBe('EAGAIN');
    await meta.flock(f.ino, sessionB, 'fd-b', 'unlock');

    // A takes the lock again and dies without letting go.
    await a.call('flock', f.ino, sessionA, 'fd-a', 'write');
    a.proc.kill('SIGKILL');
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The lock outlives the process until someone cleans its session up.
    expect(await codeOf(meta.flock(f.ino, sessionB, 'fd-b', 'write'))).toBe('EAGAIN');
    expect((await meta.sessions()).map((s) => s.id)).toContain(sessionA);

    await new Promise((resolve) => setTimeout(resolve, 5));
    // staleMs 0: every session whose last heartbeat is in the past goes — A's, and B's own too.
    expect(await meta.cleanStaleSessions(0)).toBeGreaterThanOrEqual(1);
    expect((await meta.sessions()).map((s) => s.id)).not.toContain(sessionA);
    const sessionB2 = await meta.newSession({ pid: process.pid, who: 'B again' });
    await meta.flock(f.ino, sessionB2, 'fd-b', 'write');
    // The database is fully usable after the crash.
    await meta.mknod(ROOT_INODE, 'after-crash', { mode: S_IFREG | 0o644, uid: 0, gid: 0 });
    expect((await meta.lookup(ROOT_INODE, 'after-crash')).nlink).toBe(1);
  });
});
