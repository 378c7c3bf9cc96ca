// The vfs's open-file table and per-inode data state: a file handle names one open of one inode;
// all handles of an inode in this process share one FileWriter, created on first write and
// closed with the inode's last handle.
import type { FileWriter, Slice } from '../chunk/store.js';
import type { Attr } from './attr.js';
import type { HeldAttrs } from './held-attrs.js';
import type { Caller } from './permissions.js';
import { KeyedQueue } from './serial.js';

export interface OpenFile {
  fh: number;
  ino: number;
  flags: number;
  caller: Caller;
  /** A directory opened for listing (opendir) rather than a file. */
  dir: boolean;
}

export interface InodeState {
  ino: number;
  /** Handles of this inode open in this process. */
  handles: number;
  /** Handles opened on it so far: attributes fetched from before an open are not kept for the
   * reads after it (close-to-open). */
  opens: number;
  writer: FileWriter | null;
  /** When this process last wrote to it (ns), for the times of buffered, uncommitted writes. */
  lastWriteNs: bigint;
  /** Since when (ms) its writer holds bytes not committed (0: none): committed after a while
   * even if the file stays open, so no uploaded block stays unknown to the metadata for long. */
  dirtySinceMs: number;
  /** Chunk slice lists that reads fetched while the file's attributes read `stamp`. */
  slices: { stamp: string; chunks: Map<number, Promise<Slice[]>> } | null;
  /** Moves with every change this process makes to the file's data. */
  changes: number;
  /** The attributes reads last fetched (`at`: when asked, ms), valid while `changes` has not moved. */
  attrSeen: { attr: Attr; at: number; changes: number } | null;
  /** Created by this process and not flushed since: its attribute changes may be held back. */
  fresh: boolean;
  /** Attribute changes made here and not yet in metadata (see held-attrs.ts). */
  held: HeldAttrs | null;
}

export class HandleTable {
  readonly #files = new Map<number, OpenFile>();
  readonly #inodes = new Map<number, InodeState>();
  /** Serialises data operations per inode (writes, appends, truncates, flushes). */
  readonly queue = new KeyedQueue<number>();
  #next = 3;

  /** Record an open; returns the handle and whether it is the inode's first one here. */
  add(ino: number, flags: number, caller: Caller, dir: boolean): { file: OpenFile; first: boolean } {
    // Handle numbers start at 3 (like fds after stdio) and are never reused while the table lives.
    const fh = this.#next++;
    const file: OpenFile = { fh, ino, flags, caller, dir };
    this.#files.set(fh, file);
    let state = this.#inodes.get(ino);
    const first = state === undefined;
    if (!state) {
      state = { ino, handles: 0, opens: 0, writer: null, lastWriteNs: 0n, dirtySinceMs: 0, slices: null, changes: 0, attrSeen: null, fresh: false, held: null };
      this.#inodes.set(ino, state);
    }
    state.handles++;
    state.opens++;
    return { file, first };
  }

  get(fh: number): OpenFile | undefined {
    return this.#files.get(fh);
  }

  inode(ino: number): InodeState | undefined {
    return this.#inodes.get(ino);
  }

  /** Drop a handle; returns the inode state if it was the inode's last handle (already removed). */
  remove(fh: number): { file: OpenFile; last: InodeState | null } | undefined {
    const file = this.#files.get(fh);
    if (!file) return undefined;
    this.#files.delete(fh);
    const state = this.#inodes.get(file.ino);
    if (!state) return { file, last: null };
    state.handles--;
    if (state.handles > 0) return { file, last: null };
    this.#inodes.delete(file.ino);
    return { file, last: state };
  }

  handles(): number[] {
    return [...this.#files.keys()];
  }

  /** Inodes with at least one handle open here. */
  inodes(): number[] {
    return [...this.#inodes.keys()];
  }

  get size(): number {
    return this.#files.size;
  }
}
