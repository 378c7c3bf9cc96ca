// A real mount for tests: `strata mount` in a child process (as users run it), a formatted
// volume in a temp dir, and helpers to stop it politely or kill it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';
import { Volume } from '../../src/index.js';
import { packageRoot } from '../../src/hotpath/locate.js';
import type { Need } from '../helpers/require.js';
import { metaUrlFor, type Engine } from '../helpers/engines.js';

export const run = promisify(execFile);
export const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

export interface TestMount {
  dir: string;
  metaUrl: string;
  mountpoint: string;
  child: ChildProcess;
  log: () => string;
  /** SIGTERM and wait for a clean exit (unmounted, flushed). Returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: the mountpoint is left stale. */
  kill(): Promise<void>;
  /** Mount the same volume again at the same place (after stop or kill), with other flags if given. */
  remount(args?: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

export async function isMounted(mountpoint: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === mountpoint);
}

/** The metadata engine mounts of this test file use (each test file is its own module). */
let engine: Engine = 'sqlite';

export function useEngine(kind: Engine): void {
  engine = kind;
}

export async function makeMount(extraArgs: string[] = [], format: { blockSize?: number } = {}): Promise<TestMount> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-fuse-'));
  const metaUrl = await metaUrlFor(engine, dir);
  const mountpoint = join(dir, 'mnt');
  await mkdir(mountpoint);
  await Volume.format(metaUrl, { name: 'fusetest', storage: `file://${join(dir, 'objects')}`, trashDays: 0, ...format });
  let out = '';
  const state = { child: null as unknown as ChildProcess };
  const start = async (args: string[] = extraArgs) => {
    const child = spawn(process.execPath, [CLI, 'mount', metaUrl, mountpoint, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    state.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mount did not come up in 30 s:\n${out}`)), 30_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`strata mount exited with ${code} before mounting:\n${out}`));
      });
    });
  };
  await start();
  const exited = (c: ChildProcess) => new Promise<number | null>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve(c.exitCode);
    else c.once('exit', (code) => resolve(code));
  });
  const m: TestMount = {
    dir, metaUrl, mountpoint,
    get child() { return state.child; },
    log: () => out,
    async stop() {
      const c = state.child;
      c.kill('SIGTERM');
      return exited(c);
    },
    async kill() {
      const c = state.child;
      c.kill('SIGKILL');
      await exited(c);
    },
    remount: (args?: string[]) => start(args),
    async cleanup() {
      const c = state.child;
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await Promise.race([exited(c), new Promise((r) => setTimeout(r, 10_000))]);
      }
      if (await isMounted(mountpoint)) await run('fusermount3', ['-u', '-z', mountpoint]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return m;
}

/** A second `strata mount` of an existing volume (another "host"); stop() unmounts it. */
export async function mountAgain(metaUrl: string, mountpoint: string, args: string[] = []): Promise<{ stop(): Promise<number | null>; kill(): void; log: () => string }> {
  await mkdir(mountpoint, { recursive: true });
  let out = '';
  const child = spawn(process.execPath, [CLI, 'mount', metaUrl, mountpoint, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mount did not come up in 30 s:\n${out}`)), 30_000);
    child.once('message', () => { clearTimeout(timer); resolve(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`strata mount exited with ${code} before mounting:\n${out}`)); });
  });
  return {
    log: () => out,
    /** SIGKILL: the host dies; its mountpoint is left stale. */
    kill: () => { child.kill('SIGKILL'); },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const gone = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return gone;
    },
  };
}

/** A mount shared by one describe block: made in beforeAll once `fuse.check()` passes; in
 * afterAll it must stop cleanly (exit 0, unmounted) before its directory goes. */
export function mountForSuite(fuse: Need, args: string[] = []): () => TestMount {
  let m: TestMount | undefined;
  beforeAll(async () => {
    fuse.check();
    m = await makeMount(args);
  }, 60_000);
  afterAll(async () => {
    if (!m) return;
    expect(await m.stop(), m.log()).toBe(0);
    expect(await isMounted(m.mountpoint)).toBe(false);
    await m.cleanup();
  }, 60_000);
  return () => {
    if (!m) throw new Error('the suite mount is not up (beforeAll failed)');
    return m;
  };
}
