// Reaching a mirror's primary. The mirror keeps the primary's URL without its password (no
// secret at rest); the password comes with the URL given at run time (--primary, or the
// STRATA_PRIMARY_META variable), or from the server's own means (a passwordless local login).
// Whatever is reached must be the same volume: the uuid is checked, so a mirror never follows
// another volume that happens to live at the URL.
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { MirrorSettings } from '../meta/meta.js';
import { SqlMeta, type SqlMetaOptions } from '../meta/sql/engine.js';
import { openDriver } from '../meta/sql/open.js';
import type { SqlDriver } from '../meta/sql/driver.js';

export const PRIMARY_ENV = 'STRATA_PRIMARY_META';

/** The URL as a mirror may keep it: the user stays, the password goes. */
export function withoutPassword(url: string): string {
  // The password runs to the last "@" before the path (as the URL parser reads it).
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^:@/?#]*):[^/?#]*@/, (_m, scheme: string, user: string) => `${scheme}${user}@`);
}

/** The URL to reach the primary with: given, else the environment's, else the one kept. */
export function primaryUrl(mirror: MirrorSettings, given?: string, env: NodeJS.ProcessEnv = process.env): string {
  return given ?? env[PRIMARY_ENV] ?? mirror.primary;
}

export interface Primary {
  driver: SqlDriver;
  meta: SqlMeta;
  close(): Promise<void>;
}

/** Connect to the primary of the volume `uuid` at `url`. */
export async function connectPrimary(url: string, uuid: string | null, options: { connectTimeoutMs?: number } & SqlMetaOptions = {}): Promise<Primary> {
  let driver: SqlDriver;
  try {
    ({ driver } = await openDriver(parseMetaUrl(url), { connectTimeoutMs: options.connectTimeoutMs }));
  } catch (err) {
    const why = (err as Error).message;
    const hint = /password|authentication|Access denied/i.test(why) ? ` (the mirror keeps no password: give the primary's URL with --primary or ${PRIMARY_ENV})` : '';
    throw errnoError((err as { code?: string }).code === 'ENOENT' ? 'ENOENT' : 'EIO', 'mirror', undefined, `cannot reach the primary at ${redactUrl(url)}: ${why}${hint}`, err);
  }
  let meta: SqlMeta;
  try {
    meta = await SqlMeta.open(driver, options);
  } catch (err) {
    await driver.close().catch(() => undefined);
    throw err;
  }
  const settings = await meta.settings();
  const fail = async (detail: string) => {
    await meta.close();
    throw errnoError('EINVAL', 'mirror', undefined, detail);
  };
  if (settings.mirror) await fail(`${redactUrl(url)} is itself a mirror (of ${settings.mirror.primary}): follow its primary instead`);
  if (uuid !== null && settings.uuid !== uuid) await fail(`${redactUrl(url)} holds volume "${settings.name}" (${settings.uuid}), not the one this mirror follows (${uuid})`);
  return { driver, meta, close: () => meta.close() };
}
