// Copying a mirror's new blocks into its own store. The queue is the mirror's own change log:
// every entry after `copiedVersion` may name slices to copy (a new slice_refs row) or to drop
// (its row deleted). The copier reads that log a page at a time, copies with bounded parallelism
// (memory stays at parallel x block size), and moves `copiedVersion` — in the mirror's settings —
// only when a whole page is done. A restart therefore copies at most one page again, and a
// copy is skipped when the block is there already. The mirror's log is pruned only below it.
import type { ChangeEntry, MirrorSettings } from '../meta/meta.js';
import type { SqlDriver } from '../meta/sql/driver.js';
import { writeMirrorSettings } from '../meta/sql/settings.js';
import { blockKey, sliceBlockKeys } from '../chunk/keys.js';
import type { ObjectStore } from '../object/store.js';

/** Log entries read per page. */
const PAGE = 200;

export interface CopierStores {
  own: ObjectStore;
  primary: ObjectStore;
}

export interface CopyPass {
  /** Blocks written to the mirror's store in this pass. */
  copied: number;
  /** Blocks removed from it (their slices are gone). */
  removed: number;
  /** The version every block is copied up to now. */
  copiedVersion: number;
  /** A block the mirror still uses that the primary's store does not have (yet): the pass
   * stopped there and is tried again later. Usually the primary deleted it in a change the
   * mirror has not applied yet. */
  waitingFor?: string;
}

/** A block to copy is missing from the primary's store while the mirror still uses it. */
class NotThereYet extends Error {
  constructor(readonly key: string) {
    super(`block ${key} is not in the primary's store`);
  }
}

/** What one log entry asks of the copier. */
export function blockWork(entry: Pick<ChangeEntry, 'rows'>, blockSize: number): { copy: string[]; drop: number[] } {
  const copy: string[] = [];
  const drop: number[] = [];
  // Imported slices are parts of objects, not blocks: nothing to copy.
  const imported = new Set(entry.rows.filter((r) => r.table === 'external_slices' && r.kind === 'put').map((r) => Number(r.row.id)));
  for (const { table, kind, row } of entry.rows) {
    if (table !== 'slice_refs') continue;
    if (kind === 'put') {
      if (!imported.has(Number(row.id))) copy.push(...sliceBlockKeys(Number(row.id), Number(row.size), blockSize));
    } else {
      drop.push(Number(row.id));
    }
  }
  return { copy, drop };
}

export class BlockCopier {
  #copiedVersion: number;
  #backfilled: number;
  readonly #backfillTo: number;

  constructor(
    readonly mirror: SqlDriver,
    readonly stores: CopierStores | null,
    readonly blockSize: number,
    position: Pick<MirrorSettings, 'copiedVersion' | 'backfilledSlice' | 'backfillTo'>,
    readonly parallel = 8,
  ) {
    this.#copiedVersion = position.copiedVersion;
    this.#backfilled = position.backfilledSlice;
    this.#backfillTo = position.backfillTo;
  }

  /** Slices loaded with the mirror whose blocks are not checked yet (ids up to the snapshot's). */
  get backfillPending(): boolean {
    return this.stores !== null && this.#backfilled < this.#backfillTo;
  }

  /** Copy the blocks of one page of the slices the mirror was loaded with (those no log entry
   * names), lowest ids first; the position is kept in the mirror's settings. */
  async backfill(): Promise<CopyPass> {
    const out: CopyPass = { copied: 0, removed: 0, copiedVersion: this.#copiedVersion };
    if (!this.backfillPending) return out;
    const page = (await this.mirror.read((c) => c.all('SELECT id, size FROM slice_refs WHERE id > ? AND id <= ? AND id NOT IN (SELECT id FROM external_slices) ORDER BY id LIMIT ?', [this.#backfilled, this.#backfillTo, PAGE])))
      .map((r) => ({ id: Number(r.id), size: Number(r.size) }));
    try {
      out.copied += await this.#copyAll(page.flatMap((s) => sliceBlockKeys(s.id, s.size, this.blockSize)));
    } catch (err) {
      if (!(err instanceof NotThereYet)) throw err;
      out.waitingFor = err.key;
      return out;
    }
    const upTo = page.length < PAGE ? this.#backfillTo : page[page.length - 1]!.id;
    await this.mirror.transaction((c) => writeMirrorSettings(c, this.mirror.dialect, { backfilledSlice: upTo }));
    this.#backfilled = upTo;
    return out;
  }

  get copiedVersion(): number {
    return this.#copiedVersion;
  }

  /** Work through the log up to `applied`; `retention` entries are kept behind it. */
  async pass(applied: number, retention: number): Promise<CopyPass> {
    const out: CopyPass = { copied: 0, removed: 0, copiedVersion: this.#copiedVersion };
    while (this.#copiedVersion < applied) {
      let upTo = applied;
      if (this.stores) {
        const page = (await this.mirror.read((c) => c.all('SELECT version, body FROM changes WHERE version > ? AND version <= ? ORDER BY version LIMIT ?', [this.#copiedVersion, applied, PAGE])))
          .map((r) => ({ version: Number(r.version), rows: JSON.parse(String(r.body)) as ChangeEntry['rows'] }));
        if (page.length === 0) break;
        upTo = page[page.length - 1]!.version;
        try {
          for (const entry of page) {
            const { copy, drop } = blockWork(entry, this.blockSize);
            out.copied += await this.#copyAll(copy);
            // After the copies of this entry: a slice dropped here is not copied back afterwards
            // (slice ids are never reused, so no later entry copies it again).
            for (const id of drop) out.removed += await this.#drop(id);
          }
        } catch (err) {
          if (!(err instanceof NotThereYet)) throw err;
          out.waitingFor = err.key;
          return out;
        }
      }
      await this.mirror.transaction(async (c) => {
        await writeMirrorSettings(c, this.mirror.dialect, { copiedVersion: upTo });
        // The log is the copier's queue: kept from what is not copied yet, and `retention` back.
        // (0 keeps everything, as on a primary.)
        if (retention > 0) await c.run('DELETE FROM changes WHERE version <= ?', [Math.min(upTo, applied - retention)]);
      });
      this.#copiedVersion = upTo;
      out.copiedVersion = upTo;
    }
    return out;
  }

  async #copyAll(keys: string[]): Promise<number> {
    let next = 0;
    let copied = 0;
    let failed: unknown = null;
    const worker = async () => {
      while (next < keys.length && failed === null) {
        const key = keys[next++]!;
        try {
          if (await this.#copy(key)) copied++;
        } catch (err) {
          failed ??= err;
        }
      }
    };
    // Every worker ends before the error goes up: no copy is left running behind the caller.
    await Promise.all(Array.from({ length: Math.min(this.parallel, keys.length) }, worker));
    if (failed !== null) throw failed;
    return copied;
  }

  async #copy(key: string): Promise<boolean> {
    const { own, primary } = this.stores!;
    if (await own.head(key)) return false;
    let data: Buffer;
    try {
      data = await primary.get(key);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      // Gone from the primary: fine if no file uses it any more (deleted since), not otherwise.
      const id = Number(/(\d+)_\d+_\d+$/.exec(key)?.[1]);
      const used = await this.mirror.read((c) => c.get('SELECT 1 AS x FROM slice_refs WHERE id = ? AND id NOT IN (SELECT id FROM external_slices)', [id]));
      if (used === undefined) return false;
      throw new NotThereYet(key);
    }
    await own.put(key, data);
    return true;
  }

  async #drop(id: number): Promise<number> {
    const { own } = this.stores!;
    // The block names carry lengths the deleted row no longer tells: list the slice's blocks.
    const prefix = blockKey(id, 0, 1).replace(/_0_1$/, '_');
    let removed = 0;
    let after: string | undefined;
    for (;;) {
      const page = await own.list({ prefix, ...(after ? { startAfter: after } : {}) });
      for (const o of page.objects) {
        await own.delete(o.key);
        removed++;
      }
      if (!page.truncated) return removed;
      after = page.next;
    }
  }
}
