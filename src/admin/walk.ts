// The tree walk the volume tools share (fsck, compact): every regular file below a directory,
// with how many of its names the walk saw, tolerating what is removed while it runs.
import type { Meta } from '../meta/meta.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

export interface FileRef {
  ino: number;
  path: string;
}

/** A regular file the walk found, and how many names of it it saw. */
export interface FoundFile extends FileRef {
  seen: number;
}

export interface WalkOptions {
  stopped?: () => boolean;
  /** After each directory is read: it, and how many subdirectories it holds. */
  visit?: (dir: FileRef, subdirs: number) => Promise<void>;
  /** After each directory: regular files found so far. */
  progress?: (found: number) => void;
}

export interface Walk {
  files: Map<number, FoundFile>;
  directories: number;
  interrupted: boolean;
}

export const isGone = (err: unknown): boolean => (err as { code?: string }).code === 'ENOENT';

/** `read()`, or null when what it reads was removed while the walk ran. */
export async function unlessGone<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}

/** Read directory `dir`: its subdirectories go on `dirs`, its regular files into `names` (one
 * more name seen each). Returns how many subdirectories it holds. */
export async function listDirectory(meta: Pick<Meta, 'readdir'>, dir: FileRef, names: Map<number, FoundFile>, dirs: FileRef[]): Promise<number> {
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

/** Every regular file at or below `start` (a directory or a file). */
export async function walkTree(meta: Pick<Meta, 'readdir' | 'getattr'>, start: FileRef, options: WalkOptions = {}): Promise<Walk> {
  const stopped = options.stopped ?? (() => false);
  const walk: Walk = { files: new Map(), directories: 0, interrupted: false };
  const first = await meta.getattr(start.ino);
  const dirs: FileRef[] = [];
  if ((first.mode & S_IFMT) === S_IFDIR) dirs.push(start);
  else if ((first.mode & S_IFMT) === S_IFREG) walk.files.set(start.ino, { ...start, seen: 1 });
  while (dirs.length > 0) {
    if (stopped()) {
      walk.interrupted = true;
      return walk;
    }
    const dir = dirs.pop()!;
    const subdirs = await unlessGone(() => listDirectory(meta, dir, walk.files, dirs));
    if (subdirs === null) continue;
    walk.directories++;
    await options.visit?.(dir, subdirs);
    options.progress?.(walk.files.size);
  }
  return walk;
}
