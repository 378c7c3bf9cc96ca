// Changes to the volume as this mount learns of them, for what the native core answers without
// asking JS (attributes and names): read from the change log every period, so that another
// client's change never lags by more than the period, and named key by key, so that a change to
// one file does not throw away what is known about every other.
import type { ChangeRow, Meta } from '../meta/meta.js';
import type { OwnCommits } from './own-commits.js';

export interface VolumeChangeListener {
  /** Something changed that cannot be named (the log was pruned, too long, or unreadable). */
  changed(): void;
  /** These inodes and names changed. `at`: the native sequence number taken right after this
   * mount committed the change itself (what was recorded since is current), 0 for another
   * client's (nothing recorded so far is). */
  marked(at: number, inos: number[], parents: number[], names: string[]): void;
  /** A poll starts: the current() that may follow counts from now. */
  checking(): void;
  /** Everything up to the volume's version read since checking() has been told. */
  current(): void;
}

/** Entries read per period; more than that is told as changed(). */
export const MAX_ENTRIES_PER_POLL = 4096;

/** Inodes, and names (parents[i], names[i]). */
export interface ChangedKeys {
  inos: number[];
  parents: number[];
  names: string[];
}

/** The inodes and names the rows of one change-log entry changed. */
export function changedKeys(rows: readonly ChangeRow[]): ChangedKeys {
  const inos: number[] = [];
  const parents: number[] = [];
  const names: string[] = [];
  for (const { table, row } of rows) {
    if (table === 'inodes' && typeof row.ino === 'number') inos.push(row.ino);
    else if (table === 'dentries' && typeof row.parent === 'number' && typeof row.name === 'string') {
      parents.push(row.parent);
      names.push(row.name);
      if (typeof row.ino === 'number') inos.push(row.ino);
    }
  }
  return { inos, parents, names };
}

/** Poll `meta` every `periodMs`; `own` tells this mount's own commits from others'. Returns a
 * function that stops polling. */
export function watchVolumeChanges(meta: Pick<Meta, 'version' | 'changes'>, periodMs: number, listener: VolumeChangeListener, own?: OwnCommits): () => void {
  // Unknown at first, and after a failed read: what was recorded meanwhile may be stale.
  let last: number | null = null;
  let busy = false;
  const poll = async (): Promise<void> => {
    listener.checking();
    const version = await meta.version();
    if (last !== null && version !== last) {
      const entries = await meta.changes(last, MAX_ENTRIES_PER_POLL);
      const reached = entries.length > 0 ? entries[entries.length - 1].version : last;
      if (reached < version) listener.changed();
      else {
        for (const entry of entries) {
          const { inos, parents, names } = changedKeys(entry.rows);
          if (inos.length > 0 || names.length > 0) listener.marked(own?.seqOf(entry.version) ?? 0, inos, parents, names);
        }
      }
    } else if (last === null) listener.changed();
    last = version;
    own?.readUpTo(version);
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
  return () => clearInterval(timer);
}
