// The volume's settings, stored as key/value rows of the settings table (replicated like any
// other volume state, secrets excepted), with the rules for what an existing volume may change.
import { errnoError } from '../../errors/errno.js';
import type { MirrorSettings, SettingsChange, VolumeSettings } from '../meta.js';
import type { Dialect, SqlConn } from './driver.js';
import type { Tx } from './tx.js';

const NUMERIC: ReadonlySet<keyof VolumeSettings> = new Set([
  'blockSize', 'trashDays', 'capacity', 'inodeLimit', 'changelogRetention', 'createdMs', 'schemaVersion',
]);

export async function readSettings(c: SqlConn, url: string): Promise<VolumeSettings> {
  const rows = await c.all<{ name: string; value: string }>(`SELECT name, value FROM settings WHERE name NOT LIKE 'cachegroup.%'`);
  const out: Record<string, string | number> = {};
  for (const r of rows) out[r.name] = NUMERIC.has(r.name as keyof VolumeSettings) ? Number(r.value) : String(r.value);
  for (const k of ['name', 'uuid', 'storage', 'blockSize', 'trashDays']) {
    if (out[k] === undefined) throw errnoError('EIO', 'open', undefined, `the volume's settings at ${url} lack "${k}": the metadata is damaged or was not written by Strata`);
  }
  return {
    name: String(out.name), uuid: String(out.uuid), storage: String(out.storage), blockSize: Number(out.blockSize),
    trashDays: Number(out.trashDays), capacity: Number(out.capacity ?? 0), inodeLimit: Number(out.inodeLimit ?? 0),
    changelogRetention: Number(out.changelogRetention ?? 100_000), createdMs: Number(out.createdMs ?? 0),
    schemaVersion: Number(out.schemaVersion ?? 1),
    ...(typeof out.storageCredentials === 'string' && out.storageCredentials !== '' ? { storageCredentials: out.storageCredentials } : {}),
    ...(typeof out['mirror.primary'] === 'string' ? { mirror: mirrorSettings(out) } : {}),
  };
}

function mirrorSettings(out: Record<string, string | number>): MirrorSettings {
  const text = (k: string) => (typeof out[k] === 'string' && out[k] !== '' ? String(out[k]) : undefined);
  return {
    primary: String(out['mirror.primary']), id: text('mirror.id') ?? '', copiedVersion: Number(out['mirror.copiedVersion'] ?? 0),
    backfilledSlice: Number(out['mirror.backfilledSlice'] ?? 0), backfillTo: Number(out['mirror.backfillTo'] ?? 0),
    ...(text('mirror.storage') ? { storage: text('mirror.storage') } : {}),
    ...(text('mirror.primaryStorage') ? { primaryStorage: text('mirror.primaryStorage') } : {}),
    ...(text('mirror.storageCredentials') ? { storageCredentials: text('mirror.storageCredentials') } : {}),
  };
}

/** Set (or, with undefined, remove) a mirror's bookkeeping rows, e.g. `{ copiedVersion: 12 }`. */
export async function writeMirrorSettings(c: SqlConn, dialect: Dialect, change: Partial<MirrorSettings>): Promise<void> {
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) await c.run('DELETE FROM settings WHERE name = ?', [`mirror.${k}`]);
    else await c.run(dialect.upsert('settings', ['name', 'value'], ['name'], ['value = new(value)']), [`mirror.${k}`, String(v)]);
  }
}

async function put(tx: Tx, name: string, value: string): Promise<void> {
  await tx.c.run(tx.dialect.upsert('settings', ['name', 'value'], ['name'], ['value = new(value)']), [name, value]);
  tx.put('settings', { name, value });
}

export async function writeSettings(tx: Tx, s: VolumeSettings): Promise<void> {
  for (const [k, v] of Object.entries(s)) if (v !== undefined) await put(tx, k, String(v));
}

function checkCount(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw errnoError('EINVAL', 'configure', undefined, `${name} must be a whole number from 0 to ${max}, got ${String(v)}`);
  }
}

/** Apply the allowed changes; returns "what: old -> new" for each setting that changed. */
export async function applySettingsChange(tx: Tx, change: SettingsChange, url: string): Promise<string[]> {
  const current = await readSettings(tx.c, url);
  const changed: string[] = [];
  const set = async <K extends keyof SettingsChange>(key: K, value: SettingsChange[K] | undefined) => {
    if (value === undefined || value === current[key]) return;
    changed.push(`${key}: ${String(current[key])} -> ${String(value)}`);
    await put(tx, key, String(value));
  };
  if (change.trashDays !== undefined) checkCount('trash-days', change.trashDays, 36_500);
  if (change.capacity !== undefined) checkCount('capacity', change.capacity);
  if (change.inodeLimit !== undefined) checkCount('inodes', change.inodeLimit);
  if (change.changelogRetention !== undefined) checkCount('changelog-retention', change.changelogRetention);
  if (change.storage !== undefined && (typeof change.storage !== 'string' || change.storage.length === 0)) {
    throw errnoError('EINVAL', 'configure', undefined, 'storage must be a storage URL');
  }
  await set('trashDays', change.trashDays);
  await set('capacity', change.capacity);
  await set('inodeLimit', change.inodeLimit);
  await set('changelogRetention', change.changelogRetention);
  await set('storage', change.storage);
  if (change.storageCredentials !== undefined && change.storageCredentials !== (current.storageCredentials ?? '')) {
    // Never the credentials themselves in what is printed.
    changed.push(`storage credentials: ${current.storageCredentials === undefined ? 'set' : 'replaced'}`);
    await put(tx, 'storageCredentials', change.storageCredentials);
  }
  return changed;
}
