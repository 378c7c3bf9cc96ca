// strata mirror status: how far a mirror is — the version it applied, how far behind the
// primary it is (in versions and in seconds since the oldest change it lacks was committed), the
// blocks still to copy into its own store, and whether the primary answers at all.
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { ChangeEntry } from '../meta/meta.js';
import { openDriver } from '../meta/sql/open.js';
import { readSettings } from '../meta/sql/settings.js';
import { blockWork } from './block-copier.js';
import { connectPrimary, primaryUrl } from './primary.js';

export interface MirrorStatus {
  volume: string;
  primary: string;
  /** This mirror's name among the primary's log consumers (what `strata mirror forget` takes). */
  id: string;
  /** Slices the mirror was loaded with whose blocks the backfill has not checked yet. */
  backfillSlices: number;
  applied: number;
  copiedVersion: number;
  /** Blocks named by applied versions whose copy is not confirmed yet (0 without an own store). */
  pendingBlocks: number;
  ownStorage: string | null;
  primaryReachable: boolean;
  primaryError?: string;
  primaryVersion?: number;
  lagVersions?: number;
  lagSeconds?: number;
  /** The primary's log no longer holds what the mirror needs next. */
  resyncNeeded?: boolean;
}

/** Give up on a primary that does not answer within this long: status is for when things are wrong. */
const PRIMARY_TIMEOUT_MS = 2000;

export async function mirrorStatus(mirrorUrl: string, options: { primary?: string; timeoutMs?: number } = {}): Promise<MirrorStatus> {
  const { driver } = await openDriver(parseMetaUrl(mirrorUrl));
  let status: MirrorStatus;
  try {
    const settings = await driver.read((c) => readSettings(c, driver.url));
    if (!settings.mirror) throw errnoError('EINVAL', 'mirror', undefined, `${redactUrl(mirrorUrl)} is not a mirror`);
    const applied = Number((await driver.read((c) => c.get<{ version: unknown }>('SELECT version FROM vstate')))!.version);
    let pendingBlocks = 0;
    if (settings.mirror.storage !== undefined) {
      const rows = await driver.read((c) => c.all('SELECT body FROM changes WHERE version > ?', [settings.mirror!.copiedVersion]));
      for (const r of rows) pendingBlocks += blockWork({ rows: JSON.parse(String(r.body)) as ChangeEntry['rows'] }, settings.blockSize).copy.length;
    }
    const m = settings.mirror;
    const backfillSlices = m.storage === undefined || m.backfilledSlice >= m.backfillTo ? 0
      : Number((await driver.read((c) => c.get<{ n: unknown }>('SELECT count(*) AS n FROM slice_refs WHERE id > ? AND id <= ?', [m.backfilledSlice, m.backfillTo])))!.n);
    status = {
      volume: settings.name, primary: settings.mirror.primary, id: m.id, backfillSlices, applied, copiedVersion: settings.mirror.copiedVersion, pendingBlocks,
      ownStorage: settings.mirror.storage ?? null, primaryReachable: false,
    };
    const url = primaryUrl(settings.mirror, options.primary);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${(options.timeoutMs ?? PRIMARY_TIMEOUT_MS) / 1000} s`)), options.timeoutMs ?? PRIMARY_TIMEOUT_MS);
    });
    const asking = (async () => {
      const primary = await connectPrimary(url, settings.uuid);
      try {
        const version = await primary.meta.version();
        let lagSeconds = 0;
        let resyncNeeded = false;
        if (version > applied) {
          const next = await primary.meta.changes(applied, 1).catch((err: unknown) => {
            if ((err as { code?: string }).code === 'ESTALE') { resyncNeeded = true; return []; }
            throw err;
          });
          if (next[0]) lagSeconds = Math.max(0, (Date.now() - next[0].timeMs) / 1000);
        }
        return { version, lagSeconds, resyncNeeded };
      } finally {
        await primary.close();
      }
    })();
    asking.catch(() => undefined);
    try {
      const p = await Promise.race([asking, timeout]);
      Object.assign(status, { primaryReachable: true, primaryVersion: p.version, lagVersions: Math.max(0, p.version - applied), lagSeconds: p.lagSeconds, ...(p.resyncNeeded ? { resyncNeeded: true } : {}) });
    } catch (err) {
      status.primaryError = (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await driver.close();
  }
  return status;
}
