// The native attribute cache against a model: random sequences of namespace and attribute
// changes on a mount, each also done to a directory on the local disk (node:fs), with every
// name's lstat and every held descriptor's fstat compared after each step. The mount's kernel
// timeouts are shorter than the native cache's slack, so the kernel asks every time and the
// native core answers whatever it holds: a record kept past a change it should have dropped
// shows as a difference.
import * as fs from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import type { StatsSnapshot } from '../../src/fuse/stats.js';
import { need } from '../helpers/require.js';
import { mountAgain, mountForSuite, type TestMount } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const TINY_TIMEOUTS = ['--attr-cache', '0.02', '--entry-cache', '0.02', '--dir-entry-cache', '0.02'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PATHS = ['x', 'y', 'z', 'a', 'b', 'a/x', 'a/y', 'b/x', 'a/c', 'a/c/x'];
const SLOTS = 2;

type Step =
  | { op: 'write' | 'append' | 'truncate'; path: string; len: number }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'mkdir' | 'rmdir' | 'unlink' | 'stat'; path: string }
  | { op: 'rename' | 'link' | 'symlink'; path: string; to: string }
  | { op: 'hold'; path: string; slot: number }
  | { op: 'writeHeld' | 'truncateHeld'; slot: number; len: number }
  | { op: 'close'; slot: number };

const path = fc.constantFrom(...PATHS);
const len = fc.integer({ min: 0, max: 3000 });
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
// Weighted so that most steps find what they act on (files to write, descriptors to write through).
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const step: fc.Arbitrary<Step> = fc.oneof(
  w(6, fc.record({ op: fc.constantFrom('write' as const, 'write' as const, 'append' as const, 'truncate' as const), path, len })),
  w(2, fc.record({ op: fc.constant('chmod' as const), path, mode: fc.constantFrom(0o600, 0o644, 0o755, 0o700) })),
  w(5, fc.record({ op: fc.constantFrom('mkdir' as const, 'rmdir' as const, 'unlink' as const, 'stat' as const), path })),
  w(4, fc.record({ op: fc.constantFrom('rename' as const, 'link' as const, 'rename' as const, 'symlink' as const), path, to: path })),
  w(3, fc.record({ op: fc.constant('hold' as const), path, slot })),
  w(4, fc.record({ op: fc.constantFrom('writeHeld' as const, 'writeHeld' as const, 'truncateHeld' as const), slot, len })),
  w(1, fc.record({ op: fc.constant('close' as const), slot })),
);

/** One side of the comparison: a root directory and the descriptors held in it. */
class Side {
  readonly held: (fs.FileHandle | null)[] = Array(SLOTS).fill(null);
  /** Names are changed through `changeRoot` (another mount of the same volume, or `root`);
   * descriptors are held and everything is viewed through `root`. */
  constructor(readonly root: string, readonly changeRoot = root) {}

  async apply(s: Step): Promise<string> {
    const p = 'path' in s ? join(s.op === 'hold' ? this.root : this.changeRoot, s.path) : '';
    try {
      switch (s.op) {
        case 'write': await fs.writeFile(p, Buffer.alloc(s.len, 1)); break;
        case 'append': await fs.appendFile(p, Buffer.alloc(s.len, 2)); break;
        case 'truncate': await fs.truncate(p, s.len); break;
        case 'chmod': await fs.chmod(p, s.mode); break;
        case 'mkdir': await fs.mkdir(p); break;
        case 'rmdir': await fs.rmdir(p); break;
        case 'unlink': await fs.unlink(p); break;
        case 'stat': await fs.stat(p); break;
        case 'rename': await fs.rename(p, join(this.changeRoot, s.to)); break;
        case 'link': await fs.link(p, join(this.changeRoot, s.to)); break;
        case 'symlink': await fs.symlink(s.path, join(this.changeRoot, s.to)); break;
        case 'hold': {
          await this.held[s.slot]?.close();
          this.held[s.slot] = null;
          this.held[s.slot] = await fs.open(p, 'r+');
          break;
        }
        case 'writeHeld': await this.held[s.slot]?.write(Buffer.alloc(s.len, 3), 0, s.len, s.len); break;
        case 'truncateHeld': await this.held[s.slot]?.truncate(s.len); break;
        case 'close': {
          await this.held[s.slot]?.close();
          this.held[s.slot] = null;
          break;
        }
      }
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }

  /** What a user sees of every name and held descriptor. Directory sizes differ by file system. */
  async view(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const show = (st: import('node:fs').Stats) =>
      `${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file'} ${(st.mode & 0o7777).toString(8)} n${st.nlink}${st.isDirectory() ? '' : ` ${st.size}`}`;
    for (const name of PATHS) {
      out[name] = await fs.lstat(join(this.root, name)).then(show, (e: { code?: string }) => e.code ?? 'error');
    }
    for (let i = 0; i < SLOTS; i++) {
      const h = this.held[i];
      if (h) out[`fd${i}`] = await h.stat().then(show, (e: { code?: string }) => e.code ?? 'error');
    }
    return out;
  }

  async reset(): Promise<void> {
    for (let i = 0; i < SLOTS; i++) {
      await this.held[i]?.close();
      this.held[i] = null;
    }
    for (const name of await fs.readdir(this.changeRoot)) await rm(join(this.changeRoot, name), { recursive: true, force: true });
  }
}

describe.skipIf(fuse.skip)('native attribute cache against a model', () => {
  // Kernel timeouts under the native cache's slack: every stat reaches the FUSE threads.
  const mount = mountForSuite(fuse, TINY_TIMEOUTS);
  let m: TestMount;
  let refDir: string;
  let other: Awaited<ReturnType<typeof mountAgain>>;
  let otherMnt: string;

  beforeAll(async () => {
    m = mount();
    refDir = await mkdtemp(join(tmpdir(), 'strata-model-ref-'));
    await fs.mkdir(join(m.mountpoint, 'model'));
    otherMnt = join(m.dir, 'other');
    other = await mountAgain(m.metaUrl, otherMnt, TINY_TIMEOUTS);
  }, 60_000);

  afterAll(async () => {
    if (other) expect(await other.stop(), other.log()).toBe(0);
    if (refDir) await rm(refDir, { recursive: true, force: true });
  });

  it('every stat and fstat after every change is what the local disk shows', async () => {
    const mounted = new Side(join(m.mountpoint, 'model'));
    const local = new Side(refDir);
    const before = JSON.parse(await fs.readFile(join(m.mountpoint, '.stats'), 'utf8')) as StatsSnapshot;
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60, size: 'max' }), async (steps) => {
      await mounted.reset();
      await local.reset();
      const done: string[] = [];
      for (const s of steps) {
        const want = await local.apply(s);
        const got = await mounted.apply(s);
        done.push(`${JSON.stringify(s)} -> ${want}`);
        expect(got, done.join('\n')).toBe(want);
        expect(await mounted.view(), done.join('\n')).toEqual(await local.view());
      }
    }), { numRuns: 60 });
    await mounted.reset();
    // The comparison ran through the native cache, not around it.
    const after = JSON.parse(await fs.readFile(join(m.mountpoint, '.stats'), 'utf8')) as StatsSnapshot;
    const hits = (s: StatsSnapshot) => s.native!.entryHits + s.native!.attrHits + s.native!.negativeHits;
    expect(hits(after) - hits(before)).toBeGreaterThan(1000);
  }, 240_000);

  it('another mount\'s changes show through this one within the polling bound, with what the local disk shows', async () => {
    // Changed through the other mount (another client), held and viewed through this one: what
    // this mount's native core holds is dropped by the change log's names alone.
    const viewed = new Side(join(m.mountpoint, 'model'), join(otherMnt, 'model'));
    const local = new Side(refDir);
    const bound = 1000;
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 20, size: 'max' }), async (steps) => {
      const done: string[] = [];
      const converged = async () => {
        const expected = await local.view();
        const started = Date.now();
        let seen = await viewed.view();
        while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() - started < bound) {
          await sleep(20);
          seen = await viewed.view();
        }
        expect(seen, done.join('\n')).toEqual(expected);
      };
      await viewed.reset();
      await local.reset();
      await converged();
      for (const s of steps) {
        const want = await local.apply(s);
        const got = await viewed.apply(s);
        done.push(`${JSON.stringify(s)} -> ${want}`);
        expect(got, done.join('\n')).toBe(want);
        await converged();
      }
    }), { numRuns: 15 });
    await viewed.reset();
  }, 240_000);
});
