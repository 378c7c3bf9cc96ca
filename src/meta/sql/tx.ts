// One metadata transaction as the engine sees it: the connection, the rows it changed (the
// change log entry it will commit), and counter deltas applied just before the version bump.
import type { ChangeRow } from '../meta.js';
import type { Dialect, SqlConn, SqlValue } from './driver.js';
import { memo } from './memo.js';
import { isLocalSetting, LOGGED_TABLES, UNLOGGED_SETTINGS } from './schema.js';

/** A row image as the change log (and a dump) carries it: 64-bit times as decimal strings, blobs
 * as hex, other integers as numbers. */
export function encodeRow(table: string, row: Record<string, SqlValue>, columns: readonly string[]): Record<string, unknown> {
  const spec = LOGGED_TABLES[table]!;
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    const v = row[c];
    // Drivers hand integers back as numbers, bigints or strings: the log has one form for each.
    if (v === null || v === undefined) out[c] = null;
    else if (spec.blobs?.includes(c)) out[c] = Buffer.from(v as Uint8Array).toString('hex');
    else if (spec.int64?.includes(c)) out[c] = String(v);
    else if (spec.ints.includes(c)) out[c] = Number(v);
    else out[c] = String(v);
  }
  return out;
}

/** A row image back in the values statements take. */
export function decodeRow(table: string, row: Record<string, unknown>): Record<string, SqlValue> {
  const spec = LOGGED_TABLES[table]!;
  const out: Record<string, SqlValue> = {};
  for (const [c, v] of Object.entries(row)) {
    if (v === null || v === undefined) out[c] = null;
    else if (spec.blobs?.includes(c)) out[c] = Buffer.from(String(v), 'hex');
    else if (spec.int64?.includes(c)) out[c] = BigInt(String(v));
    else out[c] = v as SqlValue;
  }
  return out;
}

/** The statement adding a delta to each of `n` counters (parameters: name and delta of each, then
 * the names). */
export const addCounters = memo((n: number) =>
  `UPDATE counters SET value = value + CASE name ${Array.from({ length: n }, () => 'WHEN ? THEN ?').join(' ')} ELSE 0 END WHERE name IN (${Array.from({ length: n }, () => '?').join(', ')})`);

export class Tx {
  readonly rows: ChangeRow[] = [];
  readonly counters = new Map<string, number>();

  constructor(readonly c: SqlConn, readonly dialect: Dialect) {}

  /** A row of a logged table now holds `row` (inserted or updated). */
  put(table: string, row: Record<string, SqlValue>): void {
    if (table === 'settings' && (UNLOGGED_SETTINGS.includes(String(row.name)) || isLocalSetting(String(row.name)))) return;
    this.rows.push({ table, kind: 'put', row: encodeRow(table, row, LOGGED_TABLES[table]!.columns) });
  }

  /** The row of a logged table at this key is gone. */
  delete(table: string, key: Record<string, SqlValue>): void {
    if (table === 'settings' && (UNLOGGED_SETTINGS.includes(String(key.name)) || isLocalSetting(String(key.name)))) return;
    this.rows.push({ table, kind: 'delete', row: encodeRow(table, key, LOGGED_TABLES[table]!.key) });
  }

  count(name: string, delta: number): void {
    if (delta !== 0) this.counters.set(name, (this.counters.get(name) ?? 0) + delta);
  }

  /** The transaction's read of a counter, including what it changed so far. */
  async counter(name: string): Promise<number> {
    const r = await this.c.get<{ value: unknown }>('SELECT value FROM counters WHERE name = ?', [name]);
    return Number(r?.value ?? 0) + (this.counters.get(name) ?? 0);
  }
}
