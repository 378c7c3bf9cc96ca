// This mount's own commits, as the metadata engine reports them right after each one: the
// native sequence number taken then (for the change-log reader, so that what the native cache
// recorded since stays), and the inodes and names each commit changed (for a request whose
// answer must name what the native core could not know, such as the file an unlink removed and
// the trash entry it became).
import type { Meta } from '../meta/meta.js';
import { changedKeys, type ChangedKeys } from './volume-changes.js';

/** Commits kept for requests still running (a request that outlives more is told "unknown"):
 * a release under a busy untar spans hundreds. */
const KEPT = 8192;

export class OwnCommits {
  /** version -> native sequence number right after the commit. */
  readonly #seqs = new Map<number, number>();
  /** The keys of the last KEPT commits: commit n (counted from 0) at n % KEPT; #count so far.
   * A ring, not a shifted array: every commit of a streaming write lands here. */
  readonly #keys: ChangedKeys[] = new Array<ChangedKeys>(KEPT);
  #count = 0;
  readonly #stop: () => void;
  /** Whether the engine reports this client's commits at all (a mirror's writes do not). */
  readonly #reported: boolean;

  /** `next`: the native cache's next sequence number. Without watchOwnCommits nothing is known. */
  constructor(meta: Pick<Meta, 'watchOwnCommits'>, next: () => number) {
    this.#reported = meta.watchOwnCommits !== undefined;
    this.#stop = meta.watchOwnCommits?.((version, rows) => {
      this.#seqs.set(version, next());
      this.#keys[this.#count % KEPT] = changedKeys(rows);
      this.#count++;
    }) ?? (() => undefined);
  }

  /** Where the commits stand now (before a request's metadata calls). */
  mark(): number {
    return this.#count;
  }

  /** What every commit since `mark` changed, the request's own among them (empty: none); null
   * when they are no longer all kept. */
  since(mark: number): ChangedKeys | null {
    if (!this.#reported || this.#count - mark > KEPT) return null;
    const out: ChangedKeys = { inos: [], parents: [], names: [] };
    for (let n = mark; n < this.#count; n++) {
      const k = this.#keys[n % KEPT];
      out.inos.push(...k.inos);
      out.parents.push(...k.parents);
      out.names.push(...k.names);
    }
    return out;
  }

  /** The native sequence number right after this client committed `version`, if it did. */
  seqOf(version: number): number | undefined {
    return this.#seqs.get(version);
  }

  /** Versions up to `version` have been read from the log. */
  readUpTo(version: number): void {
    for (const v of this.#seqs.keys()) if (v <= version) this.#seqs.delete(v);
  }

  close(): void {
    this.#stop();
  }
}
