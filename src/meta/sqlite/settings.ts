// The volume's settings, stored as key/value rows of the settings table (replicated like any
// other volume state), with the rules for what an existing volume may change.
import { errnoError } from '../../errors/errno.js';
import type { SettingsChange, VolumeSettings } from '../meta.js';
import type { Db } from './database.js';

const NUMERIC: ReadonlySet<keyof VolumeSettings> = new Set([
  'blockSize', 'trashDays', 'capacity', 'inodeLimit', 'changelogRetention', 'createdMs', 'schemaVersion',
]);

export function readSettings(db: Db): VolumeSettings {
  const rows = db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
  const out: Record<string, string | number> = {};
  for (const r of rows) out[r.key] = NUMERIC.has(r.key as keyof VolumeSettings) ? Number(r.value) : r.value;
  for (const k of ['name', 'uuid', 'storage', 'blockSize', 'trashDays']) {
    if (out[k] === undefined) throw errnoError('EIO', 'open', undefined, `the volume's settings lack "${k}": the metadata is damaged or was not written by Strata`);
  }
  return {
    name: String(out.name), uuid: String(out.uuid), storage: String(out.storage), blockSize: Number(out.blockSize),
    trashDays: Number(out.trashDays), capacity: Number(out.capacity ?? 0), inodeLimit: Number(out.inodeLimit ?? 0),
    changelogRetention: Number(out.changelogRetention ?? 100_000), createdMs: Number(out.createdMs ?? 0),
    schemaVersion: Number(out.schemaVersion ?? 1),
    ...(typeof out.storageCredentials === 'string' && out.storageCredentials !== '' ? { storageCredentials: out.storageCredentials } : {}),
  };
}

export function writeSettings(db: Db, s: VolumeSettings): void {
  const put = db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)');
  for (const [k, v] of Object.entries(s)) if (v !== undefined) put.run(k, String(v));
}

function checkCount(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    throw errnoError('EINVAL', 'configure', undefined, `${name} must be a whole number from 0 to ${max}, got ${String(v)}`);
  }
}

/** Apply the allowed changes; returns "what: old -> new" for each setting that changed. */
export function applySettingsChange(db: Db, change: SettingsChange): string[] {
  const current = readSettings(db);
  const changed: string[] = [];
  const put = db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)');
  const set = <K extends keyof SettingsChange>(key: K, value: SettingsChange[K] | undefined) => {
    if (value === undefined || value === current[key]) return;
    changed.push(`${key}: ${String(current[key])} -> ${String(value)}`);
    put.run(key, String(value));
  };
  if (change.trashDays !== undefined) checkCount('trash-days', change.trashDays, 36_500);
  if (change.capacity !== undefined) checkCount('capacity', change.capacity);
  if (change.inodeLimit !== undefined) checkCount('inodes', change.inodeLimit);
  if (change.changelogRetention !== undefined) checkCount('changelog-retention', change.changelogRetention);
  if (change.storage !== undefined && (typeof change.storage !== 'string' || change.storage.length === 0)) {
    throw errnoError('EINVAL', 'configure', undefined, 'storage must be a storage URL');
  }
  set('trashDays', change.trashDays);
  set('capacity', change.capacity);
  set('inodeLimit', change.inodeLimit);
  set('changelogRetention', change.changelogRetention);
  set('storage', change.storage);
  if (change.storageCredentials !== undefined && change.storageCredentials !== (current.storageCredentials ?? '')) {
    // Never the credentials themselves in what is printed.
    changed.push(`storage credentials: ${current.storageCredentials === undefined ? 'set' : 'replaced'}`);
    put.run('storageCredentials', change.storageCredentials);
  }
  return changed;
}
