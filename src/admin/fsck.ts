// Checking a volume: every block a file's slices reference exists in the store with the right
// size (and, asked to, the right checksum), and every link count agrees with the names that
// point at the inode. Walks the tree from a directory; reports each problem with the file's path.
import { CHECKSUM_BYTES, getVerifiedBlock } from '../chunk/blocks.js';
import { sliceBlockKeys, parseBlockKey } from '../chunk/keys.js';
import { releaseBuffer } from '../hotpath/index.js';
import type { Meta } from '../meta/meta.js';
import type { ObjectStore } from '../object/store.js';
import { chunkPages, eachLimited } from './batch.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export type FsckKind = 'missing-block' | 'wrong-size' | 'bad-checksum' | 'link-count';

export interface FsckProblem {
  kind: FsckKind;
  path: string;
  ino: number;
  /** The block, for block problems. */
  key?: string;
  detail: string;
}

export interface FsckOptions {
  blockSize: number;
  /** Where to start, as an inode and the path it has (default: the root). */
  start?: { ino: number; path: string };
  /** Read every block and verify its checksum (default: only existence and size). */
  checksums?: boolean;
  threads?: number;
  /** Files checked so far, and how many the walk has found. */
  progress?: (files: number, found: number) => void;
  stopped?: () => boolean;
}

export interface FsckReport {
  directories: number;
  files: number;
  blocks: number;
  /** Bytes of the blocks checked (their stored size). */
  bytes: number;
  problems: FsckProblem[];
  /** Link counts of regular files were checked too (only a walk from the root sees every name). */
  fileLinksChecked: boolean;
  interrupted: boolean;
}

interface FileToCheck {
  ino: number;
  path: string;
}

const isGone = (err: unknown) => (err as { code?: string }).code === 'ENOENT';
/** `read()`, or null when what it reads was removed while the check ran. */
async function unlessGone<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

/** Every block key under chunks/ with its stored size: one listing instead of a HEAD per block. */
async function storedBlocks(objects: ObjectStore, stopped: () => boolean): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const page of chunkPages(objects, 1000, stopped)) for (const o of page.objects) if (parseBlockKey(o.key)) sizes.set(o.key, o.size);
  return sizes;
}

/** Read directory `dir`: its subdirectories go on `dirs`, its regular files into `names` (one
 * more name seen each). Returns how many subdirectories it holds. */
async function listDirectory(meta: Meta, dir: FileToCheck, names: Map<number, FileToCheck & { seen: number }>, dirs: FileToCheck[]): Promise<number> {
  const join = (name: string) => (dir.path === '/' ? `/${name}` : `${dir.path}/${name}`);
  let subdirs = 0;
  for (let cookie = 0; ;) {
    const page = await meta.readdir(dir.ino, cookie, 1000);
    for (const e of page) {
      cookie = e.cookie;
      if (e.name === '.' || e.name === '..') continue;
      const type = e.mode & S_IFMT;
      if (type === S_IFDIR) {
        subdirs++;
        dirs.push({ ino: e.ino, path: join(e.name) });
      } else if (type === S_IFREG) {
        const known = names.get(e.ino);
        if (known) known.seen++;
        else names.set(e.ino, { ino: e.ino, path: join(e.name), seen: 1 });
      }
    }
    if (page.length < 1000) return subdirs;
  }
}

export async function checkVolume(meta: Meta, objects: ObjectStore, options: FsckOptions): Promise<FsckReport> {
  const stopped = options.stopped ?? (() => false);
  const start = options.start ?? { ino: 1, path: '/' };
  const report: FsckReport = { directories: 0, files: 0, blocks: 0, bytes: 0, problems: [], fileLinksChecked: start.ino === 1, interrupted: false };

  // The walk: directories' link counts as it goes, regular files collected with every name seen.
  const names = new Map<number, FileToCheck & { seen: number }>();
  const first = await meta.getattr(start.ino);
  const dirs: FileToCheck[] = [];
  if ((first.mode & S_IFMT) === S_IFDIR) dirs.push(start);
  else if ((first.mode & S_IFMT) === S_IFREG) names.set(start.ino, { ...start, seen: 1 });
  while (dirs.length > 0) {
    if (stopped()) {
      report.interrupted = true;
      return report;
    }
    const dir = dirs.pop()!;
    const subdirs = await unlessGone(() => listDirectory(meta, dir, names, dirs));
    if (subdirs === null) continue;
    report.directories++;
    const attr = await unlessGone(() => meta.getattr(dir.ino));
    if (attr && attr.nlink !== 2 + subdirs) {
      // Changed while it was read (a mkdir, a rename)? Counted again before it is reported.
      const again = await unlessGone(() => listDirectory(meta, dir, new Map(), []));
      const attrAgain = await unlessGone(() => meta.getattr(dir.ino));
      if (again !== null && attrAgain && attrAgain.nlink !== 2 + again) {
        report.problems.push({ kind: 'link-count', path: dir.path, ino: dir.ino, detail: `directory has link count ${attrAgain.nlink}, but 2 + ${again} subdirectories = ${2 + again}` });
      }
    }
    options.progress?.(0, names.size);
  }

  const stored = await storedBlocks(objects, stopped);
  const files = [...names.values()];
  await eachLimited(files, options.threads ?? 10, async (f) => {
    if (stopped()) {
      report.interrupted = true;
      return;
    }
    const attr = await unlessGone(() => meta.getattr(f.ino));
    const chunks = await unlessGone(() => meta.chunks(f.ino));
    if (!attr || !chunks) return; // removed while the check ran
    if (report.fileLinksChecked && attr.nlink !== f.seen) {
      // A link or unlink since the walk shows as a moved link count: only a steady one is wrong.
      const again = await unlessGone(() => meta.getattr(f.ino));
      if (again && again.nlink === attr.nlink && again.ctimeNs === attr.ctimeNs) {
        report.problems.push({ kind: 'link-count', path: f.path, ino: f.ino, detail: `file has link count ${attr.nlink}, but ${f.seen} name${f.seen === 1 ? '' : 's'} point${f.seen === 1 ? 's' : ''} at it` });
      }
    }
    const slices = new Map<number, number>();
    for (const c of chunks) for (const s of c.slices) if (s.id !== 0) slices.set(s.id, s.size);
    for (const [id, size] of slices) {
      for (const key of sliceBlockKeys(id, size, options.blockSize)) {
        if (stopped()) {
          report.interrupted = true;
          return;
        }
        const blockLength = parseBlockKey(key)!.blockLength;
        report.blocks++;
        // Not in the listing: written since, or (on a mirror) still read from the primary's store.
        const found = stored.get(key) ?? (await objects.head(key))?.size;
        if (found === undefined) {
          report.problems.push({ kind: 'missing-block', path: f.path, ino: f.ino, key, detail: `block ${key} is not in the store` });
          continue;
        }
        report.bytes += found;
        if (found !== blockLength + CHECKSUM_BYTES) {
          report.problems.push({ kind: 'wrong-size', path: f.path, ino: f.ino, key, detail: `block ${key} is ${found} bytes, expected ${blockLength + CHECKSUM_BYTES}` });
          continue;
        }
        if (options.checksums) {
          try {
            releaseBuffer(await getVerifiedBlock(objects, key, blockLength));
          } catch (err) {
            report.problems.push({ kind: 'bad-checksum', path: f.path, ino: f.ino, key, detail: (err as Error).message });
          }
        }
      }
    }
    report.files++;
    options.progress?.(report.files, files.length);
  });
  report.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}
