// Changes to the volume as this mount learns of them, for what the native core answers without
// asking JS (attributes and names): read from the change log every period, so that another
// client's change never lags by more than the period, and named key by key, so that a change to
// one file does not throw away what is known about every other.
import type { ChangeEntry, Meta } from '../meta/meta.js';

export interface VolumeChangeListener {
  /** Something changed that cannot be named (the log was pruned, too long, or unreadable). */
  changed(): void;
  /** These inodes and names changed. `at`: the native sequence number taken right after this
   * mount committed the change itself (what was recorded since is current), 0 for another
   * client's (nothing recorded so far is). */
  marked(at: number, inos: number[], parents: number[], names: string[]): void;
  /** Everything up to the volume's version now has been told. */
  current(): void;
  /** The native sequence number now, to take right after one of this mount's commits. */
  seq(): number;
}

/** Entries read per period; more than that is told as changed(). */
export const MAX_ENTRIES_PER_POLL = 4096;

/** The inodes and names one change-log entry changed. */
export function changedKeys(entry: ChangeEntry): { inos: number[]; parents: number[]; names: string[] } {
  const inos: number[] = [];
  const parents: number[] = [];
  const names: string[] = [];
  for (const { table, row } of entry.rows) {
    if (table === 'inodes' && typeof row.ino === 'number') inos.push(row.ino);
    else if (table === 'dentries' && typeof row.parent === 'number' && typeof row.name === 'string') {
      parents.push(row.parent);
      names.push(row.name);
      if (typeof row.ino === 'number') inos.push(row.ino);
    }
  }
  return { inos, parents, names };
}

/** Poll `meta` every `periodMs`. Returns a function that stops polling. */
export function watchVolumeChanges(meta: Pick<Meta, 'version' | 'changes' | 'watchOwnCommits'>, periodMs: number, listener: VolumeChangeListener): () => void {
  // This mount's own commits: version -> native sequence number right after it.
  const own = new Map<number, number>();
  const unwatch = meta.watchOwnCommits?.((version) => { own.set(version, listener.seq()); }) ?? (() => undefined);
  // Unknown at first, and after a failed read: what was recorded meanwhile may be stale.
  let last: number | null = null;
  let busy = false;
  const poll = async (): Promise<void> => {
    const version = await meta.version();
    if (last !== null && version !== last) {
      const entries = await meta.changes(last, MAX_ENTRIES_PER_POLL);
      const reached = entries.length > 0 ? entries[entries.length - 1].version : last;
      if (reached < version) listener.changed();
      else {
        for (const entry of entries) {
          const { inos, parents, names } = changedKeys(entry);
          if (inos.length > 0 || names.length > 0) listener.marked(own.get(entry.version) ?? 0, inos, parents, names);
        }
      }
    } else if (last === null) listener.changed();
    last = version;
    for (const v of own.keys()) if (v <= version) own.delete(v);
    listener.current();
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    poll().catch(() => {
      last = null;
      listener.changed();
    }).finally(() => { busy = false; });
  }, periodMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    unwatch();
  };
}
