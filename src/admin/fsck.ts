// Checking a volume: every block a file's slices reference exists in the store with the right
// size (and, asked to, the right checksum), and every link count agrees with the names that
// point at the inode. Walks the tree from a directory; reports each problem with the file's path.
import { CHECKSUM_BYTES, getVerifiedBlock } from '../chunk/blocks.js';
import { sliceBlockKeys, parseBlockKey } from '../chunk/keys.js';
import { releaseBuffer } from '../hotpath/index.js';
import type { Meta, VolumeProblem } from '../meta/meta.js';
import type { ObjectStore } from '../object/store.js';
import { chunkPages, eachLimited } from './batch.js';
import { listDirectory, unlessGone, walkTree } from './walk.js';

export type FsckKind = 'missing-block' | 'wrong-size' | 'bad-checksum' | 'missing-object' | 'changed-object' | 'link-count' | 'counter' | 'orphan' | 'stale-orphan' | 'dangling';

export interface FsckProblem {
  kind: FsckKind;
  path: string;
  ino: number;
  /** The block, for block problems. */
  key?: string;
  detail: string;
  /** Fixed by --repair. */
  repaired?: boolean;
}

export interface FsckOptions {
  blockSize: number;
  /** Where to start, as an inode and the path it has (default: the root). */
  start?: { ino: number; path: string };
  /** Read every block and verify its checksum (default: only existence and size). */
  checksums?: boolean;
  /** Fix link counts, the volume's counters and orphaned inodes (from the root only). */
  repair?: boolean;
  /** Where imported files' objects are (each is asked whether it is still the version imported). */
  linked?: () => Promise<ObjectStore>;
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

/** Every block key under chunks/ with its stored size: one listing instead of a HEAD per block. */
async function storedBlocks(objects: ObjectStore, stopped: () => boolean): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const page of chunkPages(objects, 1000, stopped)) for (const o of page.objects) if (parseBlockKey(o.key)) sizes.set(o.key, o.size);
  return sizes;
}

export async function checkVolume(meta: Meta, objects: ObjectStore, options: FsckOptions): Promise<FsckReport> {
  const stopped = options.stopped ?? (() => false);
  const start = options.start ?? { ino: 1, path: '/' };
  const report: FsckReport = { directories: 0, files: 0, blocks: 0, bytes: 0, problems: [], fileLinksChecked: start.ino === 1, interrupted: false };

  // The walk: directories' link counts as it goes, regular files collected with every name seen.
  const walk = await walkTree(meta, start, {
    stopped,
    progress: (found) => options.progress?.(0, found),
    visit: async (dir, subdirs) => {
      const attr = await unlessGone(() => meta.getattr(dir.ino));
      if (!attr || attr.nlink === 2 + subdirs) return;
      // Changed while it was read (a mkdir, a rename)? Counted again before it is reported.
      const again = await unlessGone(() => listDirectory(meta, dir, new Map(), []));
      const attrAgain = await unlessGone(() => meta.getattr(dir.ino));
      if (again !== null && attrAgain && attrAgain.nlink !== 2 + again) {
        report.problems.push({ kind: 'link-count', path: dir.path, ino: dir.ino, detail: `directory has link count ${attrAgain.nlink}, but 2 + ${again} subdirectories = ${2 + again}` });
      }
    },
  });
  report.directories = walk.directories;
  if (walk.interrupted) {
    report.interrupted = true;
    return report;
  }
  const names = walk.files;

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
    // Imported slices: one question per object (a 1 GiB file is 16 slices of one object), about
    // the furthest byte any of them needs.
    const objectEnds = new Map<string, { etag: string; end: number }>();
    for (const c of chunks) {
      for (const s of c.slices) {
        if (s.ext) objectEnds.set(s.ext.object, { etag: s.ext.etag, end: Math.max(objectEnds.get(s.ext.object)?.end ?? 0, s.ext.off + s.size) });
        else if (s.id !== 0) slices.set(s.id, s.size);
      }
    }
    if (options.linked) {
      for (const [object, need] of objectEnds) {
        if (stopped()) break;
        const problem = await importedObjectProblem(await options.linked(), object, need);
        if (problem) report.problems.push({ ...problem, path: f.path, ino: f.ino, key: object });
      }
    }
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
  // From the root, what the metadata's own rows say about counts, counters and orphans: the
  // walk named link-count problems by path; the rest are named by inode.
  if (report.fileLinksChecked && !report.interrupted) {
    const byIno = new Map(report.problems.filter((p) => p.kind === 'link-count').map((p) => [p.ino, p]));
    for (const v of await meta.checkVolume(options.repair === true)) {
      const named = v.kind === 'link-count' ? byIno.get(v.ino!) : undefined;
      if (named) named.repaired = v.repaired;
      else report.problems.push(volumeProblem(v));
    }
  }
  report.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}

/** What is wrong with the object an imported file is made of, if anything. */
async function importedObjectProblem(linked: ObjectStore, object: string, need: { etag: string; end: number }): Promise<{ kind: FsckKind; detail: string } | null> {
  let found;
  try {
    found = await linked.head(object);
  } catch (err) {
    return { kind: 'missing-object', detail: `the object ${object} it was imported from could not be asked after: ${(err as Error).message}` };
  }
  if (!found) return { kind: 'missing-object', detail: `the object ${object} it was imported from is not there` };
  if ((found.etag !== undefined && found.etag !== need.etag) || found.size < need.end) {
    return { kind: 'changed-object', detail: `the object ${object} it was imported from changed since (ETag ${found.etag ?? '?'}, was ${need.etag})` };
  }
  return null;
}

function volumeProblem(v: VolumeProblem): FsckProblem {
  const repaired = v.repaired;
  if (v.kind === 'counter') return { kind: 'counter', path: '(volume)', ino: 0, detail: `counter ${v.name} is ${v.recorded}, but the inodes add up to ${v.actual}`, repaired };
  if (v.kind === 'orphan') return { kind: 'orphan', path: `(inode ${v.ino})`, ino: v.ino!, detail: `inode ${v.ino} (link count ${v.recorded}) has no name and no session keeps it open${v.recorded > 0 ? ' (--repair names it /lost+found/#INODE)' : ''}`, repaired };
  if (v.kind === 'stale-orphan') return { kind: 'stale-orphan', path: `(inode ${v.ino})`, ino: v.ino!, detail: `inode ${v.ino} is recorded as an orphan, but it has a name (or no longer exists): its release would free it`, repaired };
  if (v.kind === 'dangling') return { kind: 'dangling', path: `(directory ${v.parent})`, ino: v.ino!, detail: `entry ${JSON.stringify(v.name)} names inode ${v.ino}, which does not exist`, repaired };
  return { kind: 'link-count', path: `(inode ${v.ino})`, ino: v.ino!, detail: `link count ${v.recorded}, but the names say ${v.actual}`, repaired };
}
