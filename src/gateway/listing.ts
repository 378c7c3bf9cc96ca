// Listing keys in S3's order (UTF-8 byte order of the whole key) over a tree of directories that
// the volume keeps in creation order. A directory "d" holds exactly the keys starting "d/", so
// sorting each directory's entries by name (+ "/" for directories) and walking depth-first yields
// every key in order. Sorted directories are kept while their mtime and ctime stay the same,
// so paging through a large directory sorts it once.
import { isDir, isRegular, isSymlink } from '../vfs/attr.js';
import type { GatewayVolume } from './volume.js';

/** Compare strings by Unicode code point (= UTF-8 byte order): JS compares UTF-16 units, which
 * puts U+E000..U+FFFF after the surrogates of higher code points. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x < 0xe000) x += 0x2000; else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y < 0xe000) y += 0x2000; else if (y >= 0xe000) y -= 0x800;
    return x - y;
  }
  return a.length - b.length;
}

export interface IndexEntry {
  name: string;
  ino: number;
  /** name, plus "/" for a directory: the order its keys take. */
  sortKey: string;
  kind: 'file' | 'dir' | 'link' | 'other';
}

interface Cached {
  mtimeNs: bigint;
  ctimeNs: bigint;
  entries: IndexEntry[];
}

const PAGE = 4096;

/** Sorted directory contents, cached per directory while unchanged (least recently used go
 * first once more than `maxEntries` entries are held). */
export class DirectoryIndex {
  readonly #cache = new Map<number, Cached>();
  #held = 0;

  constructor(private readonly gv: GatewayVolume, private readonly maxEntries = 500_000) {}

  async entries(ino: number): Promise<IndexEntry[]> {
    const { vfs, caller } = this.gv.user;
    const attr = await vfs.getattr(ino);
    const hit = this.#cache.get(ino);
    if (hit && hit.mtimeNs === attr.mtimeNs && hit.ctimeNs === attr.ctimeNs) {
      // Refresh its place in the LRU order.
      this.#cache.delete(ino);
      this.#cache.set(ino, hit);
      return hit.entries;
    }
    const entries: IndexEntry[] = [];
    for (let cookie = 0; ;) {
      const page = await vfs.readdir(caller, ino, cookie, PAGE);
      if (page.length === 0) break;
      cookie = page[page.length - 1].cookie;
      for (const e of page) {
        if (e.name === '.' || e.name === '..') continue;
        const kind = isDir(e) ? 'dir' : isRegular(e) ? 'file' : isSymlink(e) ? 'link' : 'other';
        if (kind === 'other') continue;
        entries.push({ name: e.name, ino: e.ino, sortKey: kind === 'dir' ? `${e.name}/` : e.name, kind });
      }
      if (page.length < PAGE) break;
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    if (hit) {
      this.#cache.delete(ino);
      this.#held -= hit.entries.length;
    }
    this.#cache.set(ino, { mtimeNs: attr.mtimeNs, ctimeNs: attr.ctimeNs, entries });
    this.#held += entries.length;
    for (const [oldest, c] of this.#cache) {
      if (this.#held <= this.maxEntries || oldest === ino) break;
      this.#cache.delete(oldest);
      this.#held -= c.entries.length;
    }
    return entries;
  }
}

export type ListItem =
  | { kind: 'key'; key: string; ino: number; dir: boolean; link: boolean }
  | { kind: 'prefix'; prefix: string };

export interface WalkOptions {
  prefix: string;
  /** List only what sorts after this (marker / start-after / continuation). */
  after: string;
  delimiter: string;
}

/** First index in sorted `entries` whose key (base + sortKey) may still matter after `after`. */
function startIndex(entries: IndexEntry[], base: string, after: string): number {
  if (after === '' || compareKeys(base, after) > 0) return 0;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(base + entries[mid].sortKey, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  // The entry before may be a directory whose keys continue past `after`.
  if (lo > 0 && entries[lo - 1].kind === 'dir' && after.startsWith(base + entries[lo - 1].sortKey)) return lo - 1;
  return lo;
}

/** Every key (and, with a delimiter, common prefix) of the tree below `ino`, in S3 order. */
export async function* walkKeys(index: DirectoryIndex, gv: GatewayVolume, ino: number, base: string, o: WalkOptions): AsyncGenerator<ListItem> {
  const entries = await index.entries(ino);
  for (let i = startIndex(entries, base, o.after); i < entries.length; i++) {
    const e = entries[i];
    const key = base + e.sortKey;
    if (!key.startsWith(o.prefix)) {
      // A directory above the prefix ("a/" for prefix "a/b") is walked into.
      if (e.kind === 'dir' && o.prefix.startsWith(key)) {
        yield* walkKeys(index, gv, e.ino, key, o);
        continue;
      }
      // Sorted: once past the prefix, nothing later can match it.
      if (compareKeys(key, o.prefix) > 0) return;
      continue;
    }
    if (o.delimiter !== '') {
      const at = key.indexOf(o.delimiter, o.prefix.length);
      if (at >= 0) {
        // Everything below rolls up into this prefix: no need to walk it.
        yield { kind: 'prefix', prefix: key.slice(0, at + o.delimiter.length) };
        continue;
      }
    }
    if (e.kind === 'dir') {
      // A "folder" object is the directory's own key, before its contents.
      if (compareKeys(key, o.after) > 0 && (await gv.record(e.ino)) !== null) yield { kind: 'key', key, ino: e.ino, dir: true, link: false };
      yield* walkKeys(index, gv, e.ino, key, o);
      continue;
    }
    if (compareKeys(key, o.after) > 0) yield { kind: 'key', key, ino: e.ino, dir: false, link: e.kind === 'link' };
  }
}
