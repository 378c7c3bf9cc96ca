// Dir (opendir) shaped like node:fs's: read() one entry at a time, async iteration, close().
import type { Vfs, DirEntry } from '../vfs/vfs.js';
import type { Caller } from '../vfs/permissions.js';
import { Dirent } from './dirent.js';
import { recast } from './errors.js';

const PAGE = 128;

/** Pages through a directory by cookie; hides '.', '..' and (at the root) the trash directory. */
export class DirLister {
  #cookie = 0;
  #done = false;
  #buffer: DirEntry[] = [];

  constructor(
    private readonly vfs: Vfs,
    private readonly caller: Caller,
    private readonly ino: number,
    private readonly hidden: ReadonlySet<string>,
  ) {}

  async next(): Promise<DirEntry | null> {
    while (this.#buffer.length === 0) {
      if (this.#done) return null;
      const page = await this.vfs.readdir(this.caller, this.ino, this.#cookie, PAGE);
      if (page.length === 0) { this.#done = true; return null; }
      this.#cookie = page[page.length - 1].cookie;
      if (page.length < PAGE) this.#done = true;
      this.#buffer = page.filter((e) => e.name !== '.' && e.name !== '..' && !this.hidden.has(e.name));
    }
    return this.#buffer.shift() ?? null;
  }

  async all(): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    for (let e = await this.next(); e; e = await this.next()) out.push(e);
    return out;
  }
}

export class Dir {
  readonly path: string;
  #lister: DirLister;
  #closed = false;
  readonly #onClose: () => Promise<void>;

  constructor(path: string, lister: DirLister, onClose: () => Promise<void>) {
    this.path = path;
    this.#lister = lister;
    this.#onClose = onClose;
  }

  async read(): Promise<Dirent | null> {
    if (this.#closed) throw Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
    try {
      const e = await this.#lister.next();
      return e ? new Dirent(e.name, this.path, e.mode) : null;
    } catch (err) {
      throw recast(err, 'scandir', this.path);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) throw Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
    this.#closed = true;
    await this.#onClose();
  }

  async *entries(): AsyncGenerator<Dirent> {
    try {
      for (let d = await this.read(); d; d = await this.read()) yield d;
    } finally {
      if (!this.#closed) await this.close();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Dirent> {
    return this.entries();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close();
  }
}
