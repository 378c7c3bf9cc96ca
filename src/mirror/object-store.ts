// What a client of a mirror reads blocks from: the mirror's own store, and the primary's for a
// block the replicator has not copied yet (blocks never change, so whichever has it is right).
// Blocks a mirror client writes (with mirror writes) go to the primary's store, which is what
// the primary's metadata points at, and to its own as well so that local reads need not wait
// for the replicator.
import { errnoError } from '../errors/errno.js';
import type { ByteRange, GetIntoOptions, ListOptions, ListPage, ObjectInfo, ObjectStore } from '../object/store.js';

const missing = (err: unknown) => (err as { code?: string }).code === 'ENOENT';

export class MirrorObjectStore implements ObjectStore {
  constructor(readonly own: ObjectStore, readonly primary: ObjectStore) {}

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    try {
      return await this.own.get(key, range);
    } catch (err) {
      if (!missing(err)) throw err;
      return this.primary.get(key, range);
    }
  }

  async getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    try {
      return await this.own.getInto(key, offset, target, options);
    } catch (err) {
      if (!missing(err)) throw err;
      return this.primary.getInto(key, offset, target, options);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.own.head(key)) ?? this.primary.head(key);
  }

  async put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    // Side by side: the primary's copy is the one that must land; the replicator copies into
    // this region whatever the second misses.
    await Promise.all([this.primary.put(key, data), this.own.put(key, data).catch(() => undefined)]);
  }

  /** Only the mirror's copy: the primary's blocks are its own clients' to delete. */
  delete(key: string): Promise<void> {
    return this.own.delete(key);
  }

  list(options?: ListOptions): Promise<ListPage> {
    return this.own.list(options);
  }

  describe(): string {
    return `${this.own.describe()} (a mirror; blocks not copied yet come from ${this.primary.describe()})`;
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([this.own.close(), this.primary.close()]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw errnoError('EIO', 'close', undefined, `closing a mirror's stores failed: ${String((failed as PromiseRejectedResult).reason)}`, (failed as PromiseRejectedResult).reason);
  }
}
