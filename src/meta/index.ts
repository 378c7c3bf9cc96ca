// Opening a metadata engine by URL. Only the embedded SQLite engine exists so far; other schemes
// parse (config/urls.ts) and are refused here with a message saying so.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseMetaUrl, redactUrl, type MetaUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { FormatRequest, Meta } from './meta.js';
import { SqliteMeta } from './sqlite/engine.js';

export * from './meta.js';
export { SqliteMeta };

function sqlitePath(url: MetaUrl, input: string): string {
  if (url.kind !== 'sqlite') {
    throw errnoError('ENOSYS', 'open', undefined,
      `${redactUrl(input)}: ${url.kind} metadata is not available in this build yet; use sqlite3://PATH`);
  }
  return url.path;
}

/** Open the volume whose metadata lives at `metaUrl`. */
export function openMeta(metaUrl: string, options: { durable?: boolean } = {}): Meta & { expireTrash(): Promise<number> } {
  const url = parseMetaUrl(metaUrl);
  return SqliteMeta.open(sqlitePath(url, metaUrl), redactUrl(metaUrl), options.durable === true);
}

/** Format a new volume at `metaUrl`, or re-apply format to an existing one. */
export function formatMeta(metaUrl: string, req: FormatRequest, force = false): { meta: SqliteMeta; created: boolean; changed: string[] } {
  const url = parseMetaUrl(metaUrl);
  const path = sqlitePath(url, metaUrl);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return SqliteMeta.format(path, redactUrl(metaUrl), req, force);
}
