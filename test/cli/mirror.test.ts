// strata mirror create|run|status|resync and --replicate, as users run them: the built binary in
// child processes, with its messages and exit codes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

function strata(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
let primary: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-cli-mirror-'));
  primary = `sqlite3://${join(dir, 'primary.db')}`;
  expect(strata('format', primary, 'vol', '--bucket', join(dir, 'primary-data')).code).toBe(0);
  const vol = await Volume.open(primary);
  await vol.writeFile('/hello', 'world');
  await vol.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Lines the child writes to stdout or stderr, and a wait for one that matches. */
function watch(child: ChildProcess): { until(re: RegExp): Promise<string>; text(): string } {
  let text = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  const take = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) {
      const m = w.re.exec(text);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return {
    until: (re) => new Promise((resolve) => {
      const m = re.exec(text);
      if (m) resolve(m[0]);
      else waiters.push({ re, resolve });
    }),
    text: () => text,
  };
}

const exitOf = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('strata mirror', () => {
  it('creates a mirror, says what it made, and refuses a database that holds a volume or a flag it does not know', () => {
    const mirror = `sqlite3://${join(dir, 'm1.db')}`;
    const made = strata('mirror', 'create', primary, mirror, '--bucket', join(dir, 'm1-data'));
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/Created mirror of volume "vol" .* at version \d+/);
    expect(made.out).toContain(`file://${join(dir, 'm1-data')}`);
    const again = strata('mirror', 'create', primary, mirror);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a volume/);
    const unknown = strata('mirror', 'create', primary, `sqlite3://${join(dir, 'never.db')}`, '--frobnicate');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toMatch(/unknown option '--frobnicate'/);
    const notMirror = strata('mirror', 'status', primary);
    expect(notMirror.code).toBe(1);
    expect(notMirror.err).toMatch(/is not a mirror/);
    const status = strata('mirror', 'status', mirror, '--json');
    expect(status.code).toBe(0);
    const s = JSON.parse(status.out) as { id: string };
    expect(s).toMatchObject({ volume: 'vol', primaryReachable: true, lagVersions: 0, pendingBlocks: 0, backfillSlices: 1 });
    // A mirror that is gone stops holding the primary back once forgotten.
    const forgot = strata('mirror', 'forget', primary, s.id);
    expect(forgot.code).toBe(0);
    const twice = strata('mirror', 'forget', primary, s.id);
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/keeps its log for no mirror named/);
  });

  it('runs the replicator until SIGTERM and ends with a summary; the mirror follows the primary', async () => {
    const mirror = `sqlite3://${join(dir, 'm2.db')}`;
    expect(strata('mirror', 'create', primary, mirror).code).toBe(0);
    const run = spawn(process.execPath, [CLI, 'mirror', 'run', mirror], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = watch(run);
    await out.until(/replicating "vol"/);
    const vol = await Volume.open(primary);
    await vol.writeFile('/from-primary', 'fresh');
    await vol.close();
    const m = await Volume.open(mirror);
    expect(await until('replication', async () => (await m.readFile('/from-primary', 'utf8').catch(() => undefined)))).toBe('fresh');
    await m.close();
    run.kill('SIGTERM');
    expect(await exitOf(run)).toBe(0);
    expect(out.text()).toMatch(/Stopped at version \d+: [1-9]\d* versions applied/);
  });

  it('gateway --replicate keeps the mirror it serves up to date', async () => {
    const mirror = `sqlite3://${join(dir, 'm3.db')}`;
    expect(strata('mirror', 'create', primary, mirror).code).toBe(0);
    const gw = spawn(process.execPath, [CLI, 'gateway', mirror, '127.0.0.1:0', '--replicate', '--mirror-writes'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRATA_GATEWAY_ACCESS_KEY: 'rootkey', STRATA_GATEWAY_SECRET_KEY: 'rootsecret123' },
    });
    const out = watch(gw);
    await out.until(/replicating from/);
    const vol = await Volume.open(primary);
    await vol.writeFile('/via-gateway-replicator', 'ok');
    await vol.close();
    const m = await Volume.open(mirror);
    expect(await until('replication', async () => (await m.readFile('/via-gateway-replicator', 'utf8').catch(() => undefined)))).toBe('ok');
    await m.close();
    gw.kill('SIGTERM');
    expect(await exitOf(gw)).toBe(0);
  });
});
