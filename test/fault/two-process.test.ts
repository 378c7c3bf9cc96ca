// Two processes on one volume (each a client of the BUILT SDK with its own session):
// close-to-open consistency in both directions, and appends racing from both processes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const BS = 64 * 1024;
const CHILD = fileURLToPath(new URL('./peer-child.mjs', import.meta.url));

interface Reply { id: number; ok?: unknown; error?: { code?: string; message: string } }

/** A child process holding the volume open, answering one JSON command at a time. */
class Peer {
  #next = 1;
  readonly #waiting = new Map<number, (r: Reply) => void>();
  #stderr = '';
  private constructor(readonly name: string, private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const r = JSON.parse(line) as Reply;
      this.#waiting.get(r.id)?.(r);
      this.#waiting.delete(r.id);
    });
    child.on('exit', (code, signal) => {
      for (const [, done] of this.#waiting) done({ id: -1, error: { message: `${name} exited (code ${code}, signal ${signal}): ${this.#stderr}` } });
      this.#waiting.clear();
    });
  }

  static async start(name: string, metaUrl: string): Promise<Peer> {
    const child = spawn(process.execPath, [CHILD, metaUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new Peer(name, child);
    await new Promise<void>((resolve, reject) => {
      peer.#waiting.set(0, (r) => (r.error ? reject(new Error(r.error.message)) : resolve()));
    });
    return peer;
  }

  /** Run a command; resolves with its result, rejects with the child's error. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, (r) => {
        if (r.error) reject(Object.assign(new Error(`${this.name} ${op}: ${r.error.message}`), { code: r.error.code }));
        else resolve(r.ok as T);
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async readFile(path: string): Promise<{ data: Buffer; size: number }> {
    const r = await this.call<{ data: string; size: number }>('readFile', { path });
    return { data: Buffer.from(r.data, 'base64'), size: r.size };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('close').catch(() => undefined);
    await exited;
  }
}

let dir: string;
let metaUrl: string;
let a: Peer;
let b: Peer;

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
  dir = await mkdtemp(join(tmpdir(), 'strata-fault-2p-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'shared', storage: `file://${join(dir, 'objects')}`, trashDays: 0, blockSize: BS });
  [a, b] = await Promise.all([Peer.start('A', metaUrl), Peer.start('B', metaUrl)]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const b64 = (buf: Buffer) => buf.toString('base64');

describe('close-to-open across processes', () => {
  it('B opening after A closed sees all of A\'s bytes and size; then A\'s partial overwrite', async () => {
    const v1 = randomBytes(3 * BS + 777); // crosses blocks, ends mid-block
    await a.call('writeFile', { path: '/c2o', data: b64(v1) });
    const first = await b.readFile('/c2o');
    expect(first.size).toBe(v1.length);
    expect(first.data.equals(v1)).toBe(true);

    // B holds a handle open from before A's next change.
    await b.call('open', { name: 'early', path: '/c2o', flags: 'r' });

    // A overwrites a range straddling a block boundary, extends the file, and closes.
    const v2 = Buffer.from(v1);
    const patch = randomBytes(5000);
    const tail = randomBytes(BS + 10);
    await a.call('open', { name: 'w', path: '/c2o', flags: 'r+' });
    await a.call('pwrite', { name: 'w', pos: BS - 2000, data: b64(patch) });
    await a.call('pwrite', { name: 'w', pos: v1.length + 100, data: b64(tail) });
    await a.call('hclose', { name: 'w' });
    patch.copy(v2, BS - 2000);
    const v2full = Buffer.concat([v2, Buffer.alloc(100), tail]);

    const second = await b.readFile('/c2o');
    expect(second.size).toBe(v2full.length);
    expect(second.data.equals(v2full)).toBe(true);
    // A handle B opens now (after A's close) sees the change too.
    await b.call('open', { name: 'late', path: '/c2o', flags: 'r' });
    const piece = Buffer.from(await b.call<string>('pread', { name: 'late', pos: BS - 2500, length: 6000 }), 'base64');
    expect(piece.equals(v2full.subarray(BS - 2500, BS + 3500))).toBe(true);
    await b.call('hclose', { name: 'late' });
    await b.call('hclose', { name: 'early' });
  });

  it('and the other way round: B truncates and rewrites, A re-opens and sees exactly that', async () => {
    const v3 = randomBytes(BS / 2);
    await b.call('open', { name: 't', path: '/c2o', flags: 'r+' });
    await b.call('pwrite', { name: 't', pos: 0, data: b64(v3) });
    await b.call('hclose', { name: 't' });
    await b.call('writeFile', { path: '/c2o', data: b64(v3) }); // O_TRUNC: shrinks to v3
    const back = await a.readFile('/c2o');
    expect(back.size).toBe(v3.length);
    expect(back.data.equals(v3)).toBe(true);
  });
});

const REC = 64;
const PER_PROCESS = 200;

/** Split a log into records and say precisely what is wrong with it. */
function auditLog(log: Buffer, tags: string[]): { records: number; problems: string[] } {
  const problems: string[] = [];
  if (log.length !== tags.length * PER_PROCESS * REC) {
    problems.push(`length ${log.length}, expected ${tags.length * PER_PROCESS * REC} (${tags.length * PER_PROCESS} records of ${REC} bytes)`);
  }
  const seen = new Map<string, number>();
  let torn = 0;
  for (let at = 0; at + REC <= log.length; at += REC) {
    const rec = log.subarray(at, at + REC).toString('latin1');
    const m = /^([AB]):(\d{4}):([AB]*)\n$/.exec(rec);
    if (!m || m[3]!.split('').some((c) => c !== m[1]) || m[0].length !== REC) {
      if (torn++ < 3) problems.push(`record at byte ${at} is torn or interleaved: ${JSON.stringify(rec)}`);
      continue;
    }
    const k = `${m[1]}:${m[2]}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  if (torn > 3) problems.push(`... ${torn} torn records in all`);
  for (const tag of tags) {
    const missing: number[] = [];
    for (let i = 0; i < PER_PROCESS; i++) if (!seen.has(`${tag}:${String(i).padStart(4, '0')}`)) missing.push(i);
    if (missing.length) problems.push(`${missing.length} of ${tag}'s ${PER_PROCESS} records are missing (first: ${missing.slice(0, 8).join(', ')})`);
  }
  const dup = [...seen].filter(([, n]) => n > 1);
  if (dup.length) problems.push(`${dup.length} records appear more than once`);
  return { records: seen.size, problems };
}

describe('appends racing from two processes', () => {
  it('appendFile (O_APPEND) of 200 fixed-size records each: all 400 land whole, none overwritten or interleaved', async () => {
    await a.call('writeFile', { path: '/log', data: '' });
    const startAt = Date.now() + 300;
    await Promise.all([
      a.call('append', { path: '/log', tag: 'A', count: PER_PROCESS, recLen: REC, startAt }),
      b.call('append', { path: '/log', tag: 'B', count: PER_PROCESS, recLen: REC, startAt }),
    ]);
    const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
    try {
      const log = await vol.readFile('/log');
      const { problems } = auditLog(log, ['A', 'B']);
      expect(problems).toEqual([]);
    } finally {
      await vol.close();
    }
  });

  it('one O_APPEND handle per process, fsync after each record: all 400 land whole', async () => {
    await a.call('writeFile', { path: '/log2', data: '' });
    await a.call('open', { name: 'log', path: '/log2', flags: 'a' });
    await b.call('open', { name: 'log', path: '/log2', flags: 'a' });
    const startAt = Date.now() + 200;
    await Promise.all([
      a.call('append', { handle: 'log', tag: 'A', count: PER_PROCESS, recLen: REC, startAt }),
      b.call('append', { handle: 'log', tag: 'B', count: PER_PROCESS, recLen: REC, startAt }),
    ]);
    await Promise.all([a.call('hclose', { name: 'log' }), b.call('hclose', { name: 'log' })]);
    const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
    try {
      const log = await vol.readFile('/log2');
      const { problems } = auditLog(log, ['A', 'B']);
      expect(problems).toEqual([]);
    } finally {
      await vol.close();
    }
  });
});
