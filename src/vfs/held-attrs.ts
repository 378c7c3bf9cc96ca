// Attribute changes held back for a file this process created and is still writing: the chmod,
// chown and utimes that tar, cp -p, rsync and unzip make right after writing a new file commit
// with its bytes at the next flush instead of costing a metadata transaction each (changes with
// no buffered bytes before them commit within half the attribute-cache time). This process sees
// them at once; other clients see them when they commit, with the bytes written before them.
import type { AttrChanges } from '../meta/meta.js';
import type { Attr } from './attr.js';
import { S_IFMT } from './constants.js';

export interface HeldAttrs {
  changes: AttrChanges;
  /** ctime of the latest held change (ns). */
  ctimeNs: bigint;
  /** When the first of them was held (ms, Date.now()): they commit within the hold time. */
  sinceMs: number;
}

/** `held` with `next` made after it, at `nowNs`. */
export function hold(held: HeldAttrs | null, next: AttrChanges, nowNs: bigint): HeldAttrs {
  return { changes: { ...held?.changes, ...next }, ctimeNs: nowNs, sinceMs: held?.sinceMs ?? Date.now() };
}

/** `attr` as metadata has it, with the held changes on top. */
export function withHeld(attr: Attr, held: HeldAttrs): Attr {
  const c = held.changes;
  return {
    ...attr,
    mode: c.mode !== undefined ? (attr.mode & S_IFMT) | (c.mode & 0o7777) : attr.mode,
    uid: c.uid ?? attr.uid,
    gid: c.gid ?? attr.gid,
    atimeNs: c.atimeNs ?? attr.atimeNs,
    mtimeNs: c.mtimeNs ?? attr.mtimeNs,
    ctimeNs: held.ctimeNs > attr.ctimeNs ? held.ctimeNs : attr.ctimeNs,
  };
}
