// Shared test setup: a real volume (SQLite file + local object directory) in a temp dir, and a
// real directory for node:fs/promises to act as the reference.
import { mkdtemp, rm } from 'node:fs/promises';
import * as nodefs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Volume, type VolumeOptions } from '../../src/index.js';
import { metaUrlFor, type Engine } from '../helpers/engines.js';

export interface TestVolume {
  dir: string;
  metaUrl: string;
  storageDir: string;
  vol: Volume;
  /** Another client of the same volume (like a second process). */
  open(options?: VolumeOptions): Promise<Volume>;
  cleanup(): Promise<void>;
}

export async function makeVolume(options: VolumeOptions = {}, format: { blockSize?: number; trashDays?: number } = {}, engine: Engine = 'sqlite'): Promise<TestVolume> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-sdk-'));
  const metaUrl = await metaUrlFor(engine, dir);
  const storageDir = join(dir, 'objects');
  await Volume.format(metaUrl, { name: 'test', storage: `file://${storageDir}`, trashDays: 0, ...format });
  const opened: Volume[] = [];
  const open = async (o: VolumeOptions = {}) => {
    const v = await Volume.open(metaUrl, { reclaimMs: 50, ...o });
    opened.push(v);
    return v;
  };
  const vol = await open(options);
  return {
    dir, metaUrl, storageDir, vol, open,
    async cleanup() {
      for (const v of opened) await v.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function makeRefDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'strata-ref-'));
}

export { nodefs };

/** An operation's outcome in comparable form: its (normalised) value or its error's identity. */
export type Outcome = { ok: unknown } | { code: unknown; syscall: unknown; path?: unknown; dest?: unknown; name: string };

export async function outcome(run: () => Promise<unknown>, root: string): Promise<Outcome> {
  try {
    return { ok: normalise(await run(), root) };
  } catch (err) {
    const e = err as { code?: unknown; syscall?: unknown; path?: unknown; dest?: unknown; name: string };
    const strip = (p: unknown) => (typeof p === 'string' && root !== '' && p.startsWith(root) ? p.slice(root.length) || '/' : p);
    return { name: e.name, code: e.code, syscall: e.syscall, path: strip(e.path), dest: strip(e.dest) };
  }
}

function normalise(v: unknown, root: string): unknown {
  if (typeof v === 'string') return root !== '' && v.startsWith(root) ? v.slice(root.length) || '/' : v;
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (Array.isArray(v)) {
    const items = v.map((x) => normalise(x, root));
    if (items.every((x) => typeof x === 'string')) return [...items].sort();
    return items.every((x) => x !== null && typeof x === 'object' && 'name' in x)
      ? [...items].sort((a, b) => ((a as { name: string }).name < (b as { name: string }).name ? -1 : 1))
      : items;
  }
  if (v && typeof v === 'object' && 'isFile' in v && 'nlink' in v) {
    const s = v as import('node:fs').Stats;
    return {
      file: s.isFile(), dir: s.isDirectory(), link: s.isSymbolicLink(), fifo: s.isFIFO(),
      mode: s.mode, size: s.isDirectory() ? 'dir' : s.size, nlink: s.isDirectory() ? 'dir' : s.nlink,
      uid: s.uid, gid: s.gid,
    };
  }
  if (v && typeof v === 'object' && 'isFile' in v && 'name' in v) {
    const d = v as import('node:fs').Dirent;
    return { name: d.name, file: d.isFile(), dir: d.isDirectory(), link: d.isSymbolicLink() };
  }
  return v;
}
