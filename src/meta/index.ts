// Opening a metadata engine by URL: one SQL engine (sql/engine.ts) over the driver the URL names
// — sqlite3://PATH, postgres://..., mysql://... (config/urls.ts).
import { rmSync } from 'node:fs';
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { FormatRequest, Meta } from './meta.js';
import { SqlMeta, type SqlMetaOptions } from './sql/engine.js';
import { openDriver } from './sql/open.js';

export * from './meta.js';
export { SqlMeta };

/** Open the volume whose metadata lives at `metaUrl`. */
export async function openMeta(metaUrl: string, options: { durable?: boolean; connectTimeoutMs?: number; statementTimeoutMs?: number } & SqlMetaOptions = {}): Promise<SqlMeta> {
  const url = parseMetaUrl(metaUrl);
  const { driver, empty } = await openDriver({ ...url, url: redactUrl(metaUrl) }, { durable: options.durable, connectTimeoutMs: options.connectTimeoutMs, statementTimeoutMs: options.statementTimeoutMs });
  try {
    if (empty) throw errnoError('ENOENT', 'open', undefined, `${redactUrl(metaUrl)} holds no Strata volume: format one first with "strata format ${redactUrl(metaUrl)} NAME"`);
    return await SqlMeta.open(driver, options);
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
}

/** Does `metaUrl` hold a formatted volume? */
export async function volumeExists(metaUrl: string): Promise<boolean> {
  try {
    const meta = await openMeta(metaUrl);
    await meta.close();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}

/** Format a new volume at `metaUrl`, or re-apply format to an existing one. */
export async function formatMeta(metaUrl: string, req: FormatRequest, force = false): Promise<{ meta: SqlMeta; created: boolean; changed: string[] }> {
  const url = parseMetaUrl(metaUrl);
  const { driver, empty } = await openDriver({ ...url, url: redactUrl(metaUrl) }, { create: true });
  try {
    return await SqlMeta.format(driver, req, force);
  } catch (err) {
    await driver.close().catch(() => undefined);
    // A refused first format of an SQLite file leaves nothing that a later open could take for
    // a volume (a server database keeps the empty schema, which holds no volume).
    if (empty && url.kind === 'sqlite' && url.path !== ':memory:') for (const f of [url.path, `${url.path}-wal`, `${url.path}-shm`]) rmSync(f, { force: true });
    throw err;
  }
}
