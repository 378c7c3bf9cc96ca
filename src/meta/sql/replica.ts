// Applying another volume's change log: each entry's rows, by key, in one transaction that also
// moves the counters by what the rows changed and records the version as applied. Entries are
// applied strictly in order: an entry already applied is skipped (so a restarted tailer may send
// it again), one that would leave a gap is refused.
import { errnoError } from '../../errors/errno.js';
import type { ChangeEntry } from '../meta.js';
import type { SqlConn, SqlDriver } from './driver.js';
import { LOGGED_TABLES } from './schema.js';
import { decodeRow } from './tx.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const charged = (mode: number, stored: number) => ((mode & S_IFMT) === S_IFREG ? Math.ceil(stored / 4096) * 4096 : 0);

async function inodeFootprint(c: SqlConn, ino: unknown): Promise<{ inodes: number; used: number }> {
  const r = await c.get<{ mode: unknown; stored: unknown }>('SELECT mode, stored FROM inodes WHERE ino = ?', [ino as number]);
  return r ? { inodes: 1, used: charged(Number(r.mode), Number(r.stored)) } : { inodes: 0, used: 0 };
}

/** Apply `entry` to the volume behind `db`; false when it was applied before. */
export async function applyChange(db: SqlDriver, entry: ChangeEntry): Promise<boolean> {
  return db.transaction(async (c) => {
    const current = Number((await c.get<{ version: unknown }>(`SELECT version FROM vstate${db.dialect.forUpdate}`))!.version);
    if (entry.version <= current) return false;
    if (entry.version !== current + 1) {
      throw errnoError('ESTALE', 'replicate', undefined, `version ${entry.version} cannot follow version ${current}: versions ${current + 1}..${entry.version - 1} are missing (resync needed)`);
    }
    let inodes = 0;
    let used = 0;
    for (const { table, kind, row } of entry.rows) {
      const spec = LOGGED_TABLES[table];
      if (!spec) throw errnoError('EINVAL', 'replicate', undefined, `version ${entry.version} changes unknown table "${table}"`);
      const values = decodeRow(table, row);
      const key = spec.key.map((k) => values[k] ?? null);
      if (table === 'inodes') {
        const before = await inodeFootprint(c, values.ino);
        inodes -= before.inodes;
        used -= before.used;
      }
      await c.run(`DELETE FROM ${table} WHERE ${spec.key.map((k) => `${k} = ?`).join(' AND ')}`, key);
      if (kind === 'put') {
        await c.run(`INSERT INTO ${table} (${spec.columns.join(', ')}) VALUES (${spec.columns.map(() => '?').join(', ')})`, spec.columns.map((col) => values[col] ?? null));
        if (table === 'inodes') {
          inodes += 1;
          used += charged(Number(values.mode), Number(values.stored));
        }
      }
    }
    if (inodes !== 0) await c.run('UPDATE counters SET value = value + ? WHERE name = ?', [inodes, 'inodes']);
    if (used !== 0) await c.run('UPDATE counters SET value = value + ? WHERE name = ?', [used, 'used_bytes']);
    await c.run('UPDATE vstate SET version = ?', [entry.version]);
    await c.run('INSERT INTO changes (version, op, time_ms, body) VALUES (?, ?, ?, ?)', [entry.version, entry.op, entry.timeMs, JSON.stringify(entry.rows)]);
    return true;
  });
}
