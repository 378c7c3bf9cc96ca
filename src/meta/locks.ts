// Byte-range lock arithmetic shared by every engine: POSIX (fcntl) semantics, where one owner's
// locks never conflict with each other and a new lock replaces the owner's locks on its range.
import type { LockKind } from './meta.js';

/** Ranges are [start, end) with end = Infinity for "to end of file". */
export interface HeldLock {
  session: number;
  owner: string;
  kind: Exclude<LockKind, 'unlock'>;
  start: number;
  end: number;
  pid: number;
}

export function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The first lock of another owner that conflicts with the wanted one. */
export function firstConflict(held: HeldLock[], session: number, owner: string, kind: LockKind, start: number, end: number): HeldLock | null {
  if (kind === 'unlock') return null;
  for (const h of held) {
    if (h.session === session && h.owner === owner) continue;
    if (!overlaps(h, { start, end })) continue;
    if (kind === 'write' || h.kind === 'write') return h;
  }
  return null;
}

/** The owner's locks after applying a lock (or unlock) on [start, end): the owner's existing locks
 * lose that range (split if needed), then the new lock is added; adjacent locks of the same kind
 * merge, as the kernel reports them. */
export function applyOwnerLock(mine: HeldLock[], wanted: { session: number; owner: string; kind: LockKind; start: number; end: number; pid: number }): HeldLock[] {
  const out: HeldLock[] = [];
  for (const h of mine) {
    if (!overlaps(h, wanted)) {
      out.push(h);
      continue;
    }
    if (h.start < wanted.start) out.push({ ...h, end: wanted.start });
    if (h.end > wanted.end) out.push({ ...h, start: wanted.end });
  }
  if (wanted.kind !== 'unlock') {
    out.push({ session: wanted.session, owner: wanted.owner, kind: wanted.kind, start: wanted.start, end: wanted.end, pid: wanted.pid });
  }
  out.sort((a, b) => a.start - b.start);
  const merged: HeldLock[] = [];
  for (const h of out) {
    const last = merged[merged.length - 1];
    if (last && last.kind === h.kind && last.end === h.start) last.end = h.end;
    else merged.push({ ...h });
  }
  return merged;
}
