// Importing the objects of a store (a bucket, a prefix of one, a local directory) as files: each
// key becomes a path under the destination, its prefixes directories. Link mode makes each file's
// bytes the object itself (imported slices: nothing is copied; reads fetch ranges of the object
// and insist on the version imported); copy mode stores the bytes as the file's own blocks. A
// file appears whole or not at all: it is made under a hidden name next to its place and renamed
// into it, with what it was made from (size, mtime, ETag) recorded in an xattr, so an interrupted
// run is simply run again (the hidden name is the same every time, so nothing is duplicated) and
// --update knows what changed.
import { posix } from 'node:path';
import picomatch from 'picomatch';
import type { StorageUrl } from '../config/urls.js';
import { keyProblem, type ObjectInfo, type ObjectStore } from '../object/store.js';
import { parseBlockKey } from '../chunk/keys.js';
import type { FileHandle } from '../sdk/file-handle.js';
import type { Volume } from '../sdk/volume.js';
import { eachLimited, listPages } from './batch.js';
import { CHUNK_SIZE } from '../meta/meta.js';

/** The xattr recording an imported file's source: JSON `{ size, mtimeMs, etag? }`. */
export const IMPORT_XATTR = 'user.strata.import';
/** Bytes read from the source per request. */
const PART = 8 * 1024 * 1024;
const PAGE = 1000;
const HIDDEN_SUFFIX = '.strata-import';

export interface ImportOptions {
  /** Destination directory in the volume (made if missing). */
  dst: string;
  /** Link mode: files are the objects themselves; `linkPrefix` turns a source key into a key of the
   * volume's storage location (the source must be inside it). Copy mode when absent. */
  linkPrefix?: string;
  /** Re-import objects whose size or mtime changed since they were imported. */
  update?: boolean;
  /** Re-import every object. */
  forceUpdate?: boolean;
  /** Glob patterns on keys (relative to the source): only keys matching one of `include`, and
   * none of `exclude`, are imported. */
  include?: string[];
  exclude?: string[];
  /** Keys under this prefix are the volume's own blocks: never imported, counted. */
  ownPrefix?: string | null;
  threads?: number;
  /** Report what would be done, change nothing. */
  dryRun?: boolean;
  /** Objects looked at so far. */
  progress?: (seen: number) => void;
  stopped?: () => boolean;
}

export interface ImportReport {
  /** Objects listed. */
  objects: number;
  /** Files made from objects not imported before, and files re-imported (--update, --force-update). */
  imported: number;
  updated: number;
  /** Already imported and unchanged, or a file of the same name not made by import (left alone). */
  unchanged: number;
  existing: number;
  /** Bytes stored. */
  bytes: number;
  /** The volume's own block objects, skipped. */
  skippedOwn: number;
  /** Left out by --include / --exclude, and folder markers ("a/b/"). */
  excluded: number;
  directories: number;
  failures: { key: string; error: string }[];
  dryRun: boolean;
  interrupted: boolean;
}

interface Recorded {
  size: number;
  mtimeMs: number;
  etag?: string;
}

const { join, dirname: parentOf, basename } = posix;

async function recorded(vol: Volume, path: string): Promise<Recorded | null | 'none'> {
  try {
    await vol.lstat(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 'none';
    throw err;
  }
  let raw: Buffer;
  try {
    raw = await vol.getxattr(path, IMPORT_XATTR);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENODATA') return null;
    throw err;
  }
  try {
    const r = JSON.parse(raw.toString('utf8')) as Recorded;
    return typeof r.size === 'number' && typeof r.mtimeMs === 'number' ? r : null;
  } catch {
    return null;
  }
}

export async function importObjects(vol: Volume, source: ObjectStore, options: ImportOptions): Promise<ImportReport> {
  const stopped = options.stopped ?? (() => false);
  const r: ImportReport = {
    objects: 0, imported: 0, updated: 0, unchanged: 0, existing: 0, bytes: 0, skippedOwn: 0, excluded: 0, directories: 0,
    failures: [], dryRun: options.dryRun === true, interrupted: false,
  };
  const include = options.include?.length ? picomatch(options.include, { dot: true }) : () => true;
  const exclude = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : () => false;
  const made = new Map<string, Promise<void>>();
  // mkdir -p once per directory, shared by the objects under it. Every component must be a real
  // directory: a symlink planted in the destination would lead the import elsewhere.
  const directory = (path: string): Promise<void> => {
    let p = made.get(path);
    if (!p) {
      p = (async () => {
        if (path === '/') return;
        await directory(parentOf(path));
        if (options.dryRun) return;
        try {
          await vol.mkdir(path);
          r.directories++;
        } catch (err) {
          if ((err as { code?: string }).code !== 'EEXIST') throw err;
          if (!(await vol.lstat(path)).isDirectory()) throw new Error(`${path} is in the way: it is not a directory`);
        }
      })();
      made.set(path, p);
    }
    return p;
  };

  const one = async (o: ObjectInfo): Promise<void> => {
    r.objects++;
    if (isOwnBlock(o.key, options.ownPrefix)) {
      r.skippedOwn++;
      return;
    }
    // "a/b/": a folder marker some tools leave; its directory comes from the keys under it.
    if (o.key.endsWith('/')) {
      r.excluded++;
      return;
    }
    const problem = keyProblem(o.key);
    if (problem !== null) throw new Error(`not imported: ${problem}`);
    if (o.key.endsWith(HIDDEN_SUFFIX)) throw new Error(`not imported: names ending in ${HIDDEN_SUFFIX} are where import makes files`);
    if (!include(o.key) || exclude(o.key)) {
      r.excluded++;
      return;
    }
    const path = join(options.dst, o.key);
    const was = await recorded(vol, path);
    const changed = was !== 'none' && was !== null
      && (was.size !== o.size || was.mtimeMs !== o.mtime.getTime() || (was.etag !== undefined && o.etag !== undefined && was.etag !== o.etag));
    if (was !== 'none' && !options.forceUpdate) {
      // A file not made by import is someone's: only --force-update replaces it.
      if (was === null) r.existing++;
      else if (!(options.update && changed)) r.unchanged++;
      if (was === null || !(options.update && changed)) return;
    }
    if (!options.dryRun) {
      await directory(parentOf(path));
      if (options.linkPrefix !== undefined) await linkObject(vol, o, `${options.linkPrefix}${o.key}`, path);
      else await copyObject(vol, source, o, path);
    }
    if (was === 'none') r.imported++;
    else r.updated++;
    r.bytes += o.size;
  };

  for await (const page of listPages(source, '', PAGE, stopped)) {
    await eachLimited(page.objects, options.threads ?? 10, async (o) => {
      if (stopped()) return;
      try {
        await one(o);
      } catch (err) {
        r.failures.push({ key: o.key, error: (err as Error).message });
      }
    });
    options.progress?.(r.objects);
  }
  r.interrupted = stopped();
  return r;
}

/** Where a file is made before it is renamed into `path`: the same name on every run. */
function hiddenBeside(path: string): string {
  return join(parentOf(path), `.${basename(path)}${HIDDEN_SUFFIX}`);
}

/** A fresh file at `hidden`, created by this call (a leftover of a killed run, or whatever else
 * is there, is removed first: O_EXCL never follows a symlink planted there). */
async function createHidden(vol: Volume, hidden: string): Promise<FileHandle> {
  await vol.unlink(hidden).catch((err: { code?: string }) => { if (err.code !== 'ENOENT') throw err; });
  return vol.open(hidden, 'wx');
}

/** Record the source and its mtime on the open file, close it, and move it into place (only the
 * file this import made: its inode is checked first). On failure the hidden name goes. */
async function finish(vol: Volume, fh: FileHandle, o: ObjectInfo, hidden: string, path: string, work: (ino: number) => Promise<void>): Promise<void> {
  let ino = 0;
  try {
    try {
      ino = Number((await fh.stat()).ino);
      await work(ino);
      const recorded: Recorded = { size: o.size, mtimeMs: o.mtime.getTime(), ...(o.etag !== undefined ? { etag: o.etag } : {}) };
      await vol.vfs.meta.setxattr(ino, IMPORT_XATTR, Buffer.from(JSON.stringify(recorded)), 0);
      await fh.utimes(o.mtime, o.mtime);
    } finally {
      await fh.close();
    }
    if (Number((await vol.lstat(hidden)).ino) !== ino) throw new Error(`${hidden} was replaced while it was imported`);
    await vol.rename(hidden, path);
  } catch (err) {
    if (ino !== 0 && Number((await vol.lstat(hidden).catch(() => ({ ino: -1 }))).ino) === ino) await vol.unlink(hidden).catch(() => undefined);
    throw err;
  }
}

/** Make `path` a file whose bytes are object `key` of the volume's storage location: one imported
 * slice per chunk, no byte copied. */
async function linkObject(vol: Volume, o: ObjectInfo, key: string, path: string): Promise<void> {
  if (o.etag === undefined) throw new Error(`the source store tells no version (ETag) of ${o.key}: it cannot be linked; use --mode copy`);
  const hidden = hiddenBeside(path);
  const meta = vol.vfs.meta;
  await finish(vol, await createHidden(vol, hidden), o, hidden, path, async (ino) => {
    const parts = [];
    for (let off = 0; off < o.size; off += CHUNK_SIZE) {
      parts.push({ id: await meta.newSliceId(), object: key, off, size: Math.min(CHUNK_SIZE, o.size - off), etag: o.etag! });
    }
    await meta.attachObject(ino, parts);
  });
}

/** Copy object `o` to `path` whole (in the version listed, when the store names versions). */
async function copyObject(vol: Volume, source: ObjectStore, o: ObjectInfo, path: string): Promise<void> {
  const hidden = hiddenBeside(path);
  const fh = await createHidden(vol, hidden);
  await finish(vol, fh, o, hidden, path, async () => {
    const buf = Buffer.allocUnsafe(Math.min(PART, Math.max(o.size, 1)));
    for (let at = 0; at < o.size;) {
      const got = await source.getInto(o.key, at, buf.subarray(0, Math.min(PART, o.size - at)), o.etag !== undefined ? { etag: o.etag } : undefined);
      // The object changed size under the import: better no file than a wrong one.
      if (got === 0) throw new Error(`object ${o.key} ended at ${at} bytes, listed as ${o.size}: it changed while it was imported; run again`);
      await fh.write(buf, 0, got, at);
      at += got;
    }
  });
}

/** A key of the volume's own blocks: under `ownPrefix`, or (however the source was spelled) a
 * block name under some `{volume}/chunks/`. */
function isOwnBlock(key: string, ownPrefix: string | null | undefined): boolean {
  if (ownPrefix !== null && ownPrefix !== undefined && key.startsWith(ownPrefix)) return true;
  return /(^|\/)chunks\/\d+\/\d+\/\d+_\d+_\d+$/.test(key) && parseBlockKey(key.slice(key.lastIndexOf('chunks/'))) !== null;
}

/** What a source key is prefixed with to be a key of the volume's storage location, or null when
 * the source is not inside it (link mode reads imported objects through the volume's store). */
export function linkPrefixOf(src: StorageUrl, storage: StorageUrl): string | null {
  const bases = sameLocation(src, storage);
  if (!bases) return null;
  const [srcBase, volBase] = bases;
  if (volBase === '') return srcBase === '' ? '' : `${srcBase}/`;
  if (srcBase === volBase) return '';
  return srcBase.startsWith(`${volBase}/`) ? `${srcBase.slice(volBase.length + 1)}/` : null;
}

/** The key prefixes (no trailing '/') of two URLs of one bucket or one filesystem, else null. */
function sameLocation(src: StorageUrl, storage: StorageUrl): [string, string] | null {
  if (src.kind === 'file' && storage.kind === 'file') return [src.path.replace(/\/+$/, '').replace(/^\//, ''), storage.path.replace(/\/+$/, '').replace(/^\//, '')];
  if (src.kind === 's3' && storage.kind === 's3' && src.bucket === storage.bucket && src.endpoint === storage.endpoint) return [src.prefix, storage.prefix];
  return null;
}

/** Where the volume's own blocks are, as a key prefix of the source (null when the source cannot
 * hold them): a source at or above the volume's storage location holds `{volume}/chunks/`. */
export function ownBlocksPrefix(src: StorageUrl, storage: StorageUrl, volume: string): string | null {
  const bases = sameLocation(src, storage);
  if (!bases) return null;
  const [srcBase, volBase] = bases;
  const chunks = `${volBase === '' ? '' : `${volBase}/`}${volume}/chunks/`;
  const from = srcBase === '' ? '' : `${srcBase}/`;
  if (chunks.startsWith(from)) return chunks.slice(from.length);
  // The source is inside the volume's blocks: all of it is.
  return from.startsWith(chunks) ? '' : null;
}
