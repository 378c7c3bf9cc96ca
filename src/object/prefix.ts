// An ObjectStore that keeps every key under one prefix of another store (a volume's name), so
// several volumes can share a directory or bucket. Callers see their own keys only.
import { errnoError } from '../errors/errno.js';
import {
  checkKey,
  checkListOptions,
  keyProblem,
  type ByteRange,
  type GetIntoOptions,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
} from './store.js';

export class PrefixedObjectStore implements ObjectStore {
  /** The prefix with its trailing '/', e.g. `myvol/`. */
  readonly prefix: string;

  /**
   * Keys of `inner` under `prefix` (a volume name like `myvol`, or a path like `team/myvol`; a
   * trailing '/' is optional). Closing this store closes `inner`.
   */
  constructor(
    readonly inner: ObjectStore,
    prefix: string,
  ) {
    const bare = typeof prefix === 'string' && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    const problem = keyProblem(bare);
    if (problem !== null) throw new TypeError(`object key prefix ${JSON.stringify(prefix)} is invalid: ${problem.replace('object key', 'it')}`);
    this.prefix = `${bare}/`;
  }

  #key(key: string, syscall: string): string {
    checkKey(key, syscall);
    return this.prefix + key;
  }

  #strip(key: string): string {
    // The inner store only returns keys under our prefix, since every list asks for it.
    return key.slice(this.prefix.length);
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.#call('get', key, (k) => this.inner.get(k, range));
  }

  getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    return this.#call('get', key, (k) => this.inner.getInto(k, offset, target, options));
  }

  put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    return this.#call('put', key, (k) => this.inner.put(k, data));
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', key, (k) => this.inner.delete(k));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.#call('head', key, (k) => this.inner.head(k));
    return info && { ...info, key };
  }

  async list(options?: ListOptions): Promise<ListPage> {
    const o = checkListOptions(options);
    const page = await this.inner.list({
      prefix: this.prefix + o.prefix,
      startAfter: o.startAfter === undefined ? undefined : this.prefix + o.startAfter,
      delimiter: o.delimiter,
      limit: o.limit,
    });
    const out: ListPage = {
      objects: page.objects.map((info) => ({ ...info, key: this.#strip(info.key) })),
      prefixes: page.prefixes.map((p) => this.#strip(p)),
      truncated: page.truncated,
    };
    if (page.next !== undefined) out.next = this.#strip(page.next);
    return out;
  }

  describe(): string {
    const base = this.inner.describe();
    return (base.endsWith('/') ? base : `${base}/`) + this.prefix;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  // Validate before touching the inner store (bad keys change nothing); report errors about
  // the caller's key, not the prefixed one the inner store saw.
  async #call<T>(syscall: string, key: string, fn: (inner: string) => Promise<T>): Promise<T> {
    const full = this.#key(key, syscall);
    try {
      return await fn(full);
    } catch (err) {
      const e = err as { code?: unknown; path?: unknown; syscall?: unknown; detail?: unknown };
      if (typeof e.code === 'string' && e.path === full) {
        throw errnoError(e.code, typeof e.syscall === 'string' ? e.syscall : syscall, key, typeof e.detail === 'string' ? e.detail : undefined, err);
      }
      throw err;
    }
  }
}
