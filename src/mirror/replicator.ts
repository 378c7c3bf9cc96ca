// The replicator of a mirror: it tails the primary's change log and applies each version to the
// mirror in order (applyChange: idempotent, the version recorded in the same transaction, so a
// restart resumes exactly), and — when the mirror has its own store — copies the new blocks
// there (BlockCopier, on its own loop so copying never holds metadata back). While the primary
// cannot be reached it keeps trying and says so; a mirror whose position the primary's log no
// longer holds stops with "resync needed".
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { VolumeSettings } from '../meta/meta.js';
import type { SqlDriver } from '../meta/sql/driver.js';
import { openDriver } from '../meta/sql/open.js';
import { applyChange } from '../meta/sql/replica.js';
import { readSettings } from '../meta/sql/settings.js';
import { openVolumeObjects, primaryStoreSpec } from '../object/volume-store.js';
import { BlockCopier, type CopierStores, type CopyPass } from './block-copier.js';
import { connectPrimary, primaryUrl, type Primary } from './primary.js';

export interface ReplicatorOptions {
  /** The primary's URL with its password (default: STRATA_PRIMARY_META, else the one kept). */
  primary?: string;
  /** Log entries fetched per round trip. */
  batch?: number;
  /** How often an idle replicator asks the primary for more (ms). */
  pollMs?: number;
  /** Blocks copied at once. */
  parallel?: number;
  /** File with the key that opens sealed storage credentials. */
  keyFile?: string;
  /** Where the replicator says what goes wrong (default: stderr). */
  log?: (line: string) => void;
}

/** The replicator stopped because the mirror must be loaded again. */
export function isResyncNeeded(err: unknown): boolean {
  return (err as { resync?: boolean }).resync === true;
}

/** How often the primary learns how far this mirror is (so its log is kept from there). */
const REGISTER_EVERY_MS = 1000;

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(done, ms);
  function done() {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

export interface RunSummary {
  /** Versions applied while running. */
  applied: number;
  /** Blocks copied into the mirror's store while running. */
  copied: number;
  /** The mirror's version when it stopped. */
  version: number;
}

export class Replicator {
  readonly #mirror: SqlDriver;
  readonly #settings: VolumeSettings;
  readonly #url: string;
  readonly #options: ReplicatorOptions;
  readonly #copier: BlockCopier;
  readonly #stores: CopierStores | null;
  #primary: Primary | null = null;
  #applied: number;
  #registeredAt = 0;
  #registered = -1;

  private constructor(mirror: SqlDriver, settings: VolumeSettings, applied: number, stores: CopierStores | null, options: ReplicatorOptions) {
    this.#mirror = mirror;
    this.#settings = settings;
    this.#applied = applied;
    this.#stores = stores;
    this.#options = options;
    this.#url = primaryUrl(settings.mirror!, options.primary);
    this.#copier = new BlockCopier(mirror, stores, settings.blockSize, settings.mirror!, options.parallel ?? 8);
  }

  static async open(mirrorUrl: string, options: ReplicatorOptions = {}): Promise<Replicator> {
    const { driver } = await openDriver(parseMetaUrl(mirrorUrl));
    try {
      const settings = await driver.read((c) => readSettings(c, driver.url));
      if (!settings.mirror) throw errnoError('EINVAL', 'mirror', undefined, `${redactUrl(mirrorUrl)} is not a mirror: make one with "strata mirror create PRIMARY_META ${redactUrl(mirrorUrl)}"`);
      const applied = await version(driver);
      let stores: CopierStores | null = null;
      if (settings.mirror.storage !== undefined) {
        const own = await openVolumeObjects({ name: settings.name, storage: settings.mirror.storage, storageCredentials: settings.mirror.storageCredentials }, { keyFile: options.keyFile, store: 'replicate-mirror' });
        const primary = await openVolumeObjects(primaryStoreSpec(settings), { keyFile: options.keyFile, store: 'replicate-primary' }).catch(async (err: unknown) => { await own.close(); throw err; });
        stores = { own, primary };
      }
      return new Replicator(driver, settings, applied, stores, options);
    } catch (err) {
      await driver.close().catch(() => undefined);
      throw err;
    }
  }

  get volume(): string {
    return this.#settings.name;
  }

  /** The last version applied to the mirror. */
  get applied(): number {
    return this.#applied;
  }

  get copiedVersion(): number {
    return this.#copier.copiedVersion;
  }

  get primaryUrl(): string {
    return redactUrl(this.#url);
  }

  async #connect(): Promise<Primary> {
    this.#primary ??= await connectPrimary(this.#url, this.#settings.uuid);
    return this.#primary;
  }

  /** Fetch and apply the next batch of versions; how many were applied. */
  async step(): Promise<number> {
    let entries;
    const primary = await this.#connect().catch((err: unknown) => this.#unreachable(err));
    try {
      entries = await primary.meta.changes(this.#applied, this.#options.batch ?? 500);
    } catch (err) {
      if ((err as { code?: string }).code === 'ESTALE') {
        throw Object.assign(errnoError('ESTALE', 'mirror', undefined,
          `the mirror is at version ${this.#applied} and the primary's change log no longer holds what follows: resync needed (strata mirror resync MIRROR_META): ${(err as Error).message}`, err), { resync: true });
      }
      if (!lostConnection(err)) throw err;
      this.#unreachable(err);
    }
    let n = 0;
    for (const entry of entries) {
      if (await applyChange(this.#mirror, entry)) n++;
      this.#applied = entry.version;
    }
    if (this.#applied !== this.#registered && Date.now() - this.#registeredAt >= REGISTER_EVERY_MS) await this.register();
    return n;
  }

  /** Tell the primary how far this mirror is (its log is kept from there). */
  async register(): Promise<void> {
    const primary = await this.#connect();
    await primary.meta.registerConsumer(this.#settings.mirror!.id, this.#applied);
    this.#registered = this.#applied;
    this.#registeredAt = Date.now();
  }

  #unreachable(err: unknown): never {
    throw errnoError('EIO', 'mirror', undefined, `the primary at ${redactUrl(this.#url)} did not answer: ${(err as Error).message}`, err);
  }

  /** Copy the blocks of what is applied (and prune the mirror's log behind them); when that is
   * done, a page of the backfill of blocks the mirror was loaded with. */
  async copyPass(): Promise<CopyPass & { backfilling: boolean }> {
    const pass = await this.#copier.pass(this.#applied, this.#settings.changelogRetention);
    const backfilling = this.#copier.backfillPending;
    if (pass.waitingFor === undefined && backfilling) {
      const more = await this.#copier.backfill();
      return { ...pass, copied: pass.copied + more.copied, ...(more.waitingFor ? { waitingFor: more.waitingFor } : {}), backfilling: true };
    }
    return { ...pass, backfilling: false };
  }

  /** Apply and copy until `signal` aborts; a resync-needed error ends it. */
  async run(signal: AbortSignal, onProgress?: (r: Replicator) => void): Promise<RunSummary> {
    const log = this.#options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const poll = this.#options.pollMs ?? 50;
    const summary: RunSummary = { applied: 0, copied: 0, version: this.#applied };
    let fatal: unknown = null;
    const stop = new AbortController();
    const halt = () => stop.abort();
    signal.addEventListener('abort', halt, { once: true });
    const loop = async (what: string, once: () => Promise<boolean>, idleMs: number) => {
      let failures = 0;
      while (!stop.signal.aborted) {
        try {
          const busy = await once();
          failures = 0;
          onProgress?.(this);
          if (!busy) await sleep(idleMs, stop.signal);
        } catch (err) {
          if (isResyncNeeded(err)) {
            fatal = err;
            stop.abort();
            return;
          }
          // Said once when it starts failing, then every 30 tries: a primary that is down is not news each poll.
          if (failures % 30 === 0) log(`strata mirror: ${what}: ${(err as Error).message}`);
          failures++;
          await sleep(Math.min(2000, poll * 2 ** Math.min(failures, 6)), stop.signal);
        }
      }
    };
    let waitingSince = 0;
    let waitSaid = 0;
    await Promise.all([
      loop('applying', async () => {
        const n = await this.step();
        summary.applied += n;
        return n > 0;
      }, poll),
      loop('copying blocks', async () => {
        const before = this.#copier.copiedVersion;
        const pass = await this.copyPass();
        summary.copied += pass.copied;
        if (pass.waitingFor === undefined) waitingSince = 0;
        else {
          waitingSince ||= Date.now();
          // Normal for a moment (the primary deleted it and the mirror will learn so); not for long.
          if (Date.now() - waitingSince > 60_000 && Date.now() - waitSaid > 60_000) {
            waitSaid = Date.now();
            log(`strata mirror: block ${pass.waitingFor}, which the mirror uses, has been missing from the primary's store for ${Math.round((Date.now() - waitingSince) / 1000)} s; blocks after it wait`);
          }
        }
        return pass.copiedVersion !== before || (pass.backfilling && pass.waitingFor === undefined);
      }, poll * 2),
    ]);
    signal.removeEventListener('abort', halt);
    summary.version = this.#applied;
    if (fatal) throw fatal;
    return summary;
  }

  async close(): Promise<void> {
    // The primary learns where this mirror stopped (best effort).
    if (this.#primary && this.#applied !== this.#registered) await this.register().catch(() => undefined);
    await this.#primary?.close().catch(() => undefined);
    this.#primary = null;
    if (this.#stores) await Promise.allSettled([this.#stores.own.close(), this.#stores.primary.close()]);
    await this.#mirror.close();
  }
}

/** The primary did not answer, as opposed to answering with an error. */
function lostConnection(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EIO', 'PROTOCOL_CONNECTION_LOST'].includes(code)
    || /connect|terminat|timeout|closed/i.test((err as Error).message ?? '');
}

async function version(db: SqlDriver): Promise<number> {
  return Number((await db.read((c) => c.get<{ version: unknown }>('SELECT version FROM vstate')))!.version);
}
