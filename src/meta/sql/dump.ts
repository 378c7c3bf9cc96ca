// dump and load: a volume's metadata as a stream of JSON lines, so it can move between engines
// of any kind. A dump is one consistent snapshot at a known version: a header line, one line per
// row of every replicated table (rows encoded as the change log encodes them), and an end line
// with the counts, so a truncated file is refused. Rows are read page by page in key order and
// written as they come: a dump never holds the volume in memory. Loading fills an empty database
// in one transaction with the same rows — the same inode numbers and slices, so no object needs
// copying — then derives what is not volume state (counters, id allocators) and sets the version.
import { errnoError } from '../../errors/errno.js';
import type { Dialect, SqlConn, SqlDriver, SqlValue } from './driver.js';
import { isLocalSetting, LOGGED_TABLES, SCHEMA_VERSION, UNLOGGED_SETTINGS, VOLUME_SETTING_SQL } from './schema.js';
import { decodeRow, encodeRow } from './tx.js';

export const DUMP_FORMAT = 1;
/** Rows read per statement while dumping. */
const PAGE = 1000;

export interface DumpHeader {
  strata: 'volume-dump';
  format: number;
  schema: number;
  /** The volume's version the snapshot shows. */
  version: number;
  volume: string;
  uuid: string;
  dumpedMs: number;
}

export interface DumpCounts {
  /** Rows per table. */
  rows: Record<string, number>;
  /** Settings left out (secrets in plaintext). */
  omitted: string[];
}

export interface DumpOptions {
  /** Whether a secret setting may go into the dump (e.g. credentials only when sealed). */
  keepSecret?: (name: string, value: string) => boolean;
  /** Told how many rows the snapshot holds before they go by... */
  total?: (rows: number) => void;
  /** ...and how many went so far. */
  progress?: (rows: number) => void;
}

/** Rows of every replicated table, in load order. */
export const DUMPED_TABLES = Object.keys(LOGGED_TABLES);

/** Stream the volume behind `db` to `write`, one JSON line at a time. */
export async function dumpVolume(db: SqlDriver, write: (line: string) => Promise<void>, options: DumpOptions = {}): Promise<DumpHeader & DumpCounts> {
  return db.snapshot(async (c) => {
    const version = Number((await c.get<{ version: unknown }>('SELECT version FROM vstate'))?.version ?? 0);
    const settings = new Map((await c.all('SELECT name, value FROM settings')).map((r) => [String(r.name), String(r.value)]));
    const header: DumpHeader = {
      strata: 'volume-dump', format: DUMP_FORMAT, schema: SCHEMA_VERSION, version,
      volume: settings.get('name') ?? '', uuid: settings.get('uuid') ?? '', dumpedMs: Date.now(),
    };
    let all = 0;
    for (const table of DUMPED_TABLES) all += Number((await c.get<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`))!.n);
    options.total?.(all);
    await write(JSON.stringify(header));
    const counts: DumpCounts = { rows: {}, omitted: [] };
    let total = 0;
    for (const table of DUMPED_TABLES) {
      let n = 0;
      for await (const row of pages(c, db.dialect, table)) {
        // A mirror's bookkeeping belongs to that copy: a dump of a mirror is the volume.
        if (table === 'settings' && isLocalSetting(String(row.name))) continue;
        if (table === 'settings' && UNLOGGED_SETTINGS.includes(String(row.name))) {
          if (!options.keepSecret?.(String(row.name), String(row.value))) {
            counts.omitted.push(String(row.name));
            continue;
          }
        }
        await write(JSON.stringify({ table, row: encodeRow(table, row, LOGGED_TABLES[table]!.columns) }));
        n++;
        if (++total % PAGE === 0) options.progress?.(total);
      }
      counts.rows[table] = n;
    }
    options.progress?.(total);
    await write(JSON.stringify({ end: true, ...counts }));
    return { ...header, ...counts };
  });
}

/** A table's rows in key order — names byte by byte, so every engine dumps them alike — a page
 * per statement (keyset pagination: no OFFSET scans). */
async function* pages(c: SqlConn, dialect: Dialect, table: string): AsyncGenerator<Record<string, SqlValue>> {
  const { key, columns, texts } = LOGGED_TABLES[table]!;
  const order = key.map((k) => (texts.includes(k) ? dialect.binary(k) : k)).join(', ');
  let after: SqlValue[] | null = null;
  for (;;) {
    const where = after ? ` WHERE (${order}) > (${key.map(() => '?').join(', ')})` : '';
    const rows: Record<string, SqlValue>[] = await c.all(`SELECT ${columns.join(', ')} FROM ${table}${where} ORDER BY ${order} LIMIT ${PAGE}`, after ?? []);
    for (const r of rows) yield r;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = key.map((k) => last[k] ?? null);
  }
}

export interface LoadOptions {
  progress?: (rows: number) => void;
  /** Replace the volume `db` holds (a mirror's resync) instead of requiring an empty database:
   * its volume state and change log go in the same transaction. */
  replace?: boolean;
  /** Last step of the load's transaction (a mirror records what it follows). */
  finish?: (c: SqlConn, header: DumpHeader) => Promise<void>;
}

/** Load a dump into `db`, which must hold no volume. Lines come from `lines` (a file, stdin). */
export async function loadVolume(db: SqlDriver, lines: AsyncIterable<string>, options: LoadOptions = {}): Promise<DumpHeader & DumpCounts> {
  const taken = await db.read(async (c) => (await c.get('SELECT 1 AS x FROM settings LIMIT 1')) !== undefined);
  if (taken && !options.replace) throw errnoError('EEXIST', 'load', undefined, `${db.url} already holds a volume: load into an empty database`);
  // One transaction of every row: no statement timeout.
  return db.transaction(async (c) => {
    if (options.replace) {
      // Sessions, locks and log consumers are not volume state: they stay.
      for (const table of [...DUMPED_TABLES, 'pending_slices', 'orphans', 'changes']) {
        await c.run(table === 'settings' ? `DELETE FROM settings WHERE ${VOLUME_SETTING_SQL}` : `DELETE FROM ${table}`);
      }
    }
    let header: DumpHeader | null = null;
    let end: DumpCounts | null = null;
    const counts: Record<string, number> = {};
    let total = 0;
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      let item: Record<string, unknown>;
      try {
        item = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw errnoError('EINVAL', 'load', undefined, `line ${lineNo} of the dump is not JSON: the file is damaged`);
      }
      if (header === null) {
        header = item as unknown as DumpHeader;
        if (header.strata !== 'volume-dump') throw errnoError('EINVAL', 'load', undefined, 'this is not a Strata volume dump (its first line has no "strata": "volume-dump")');
        if (header.format > DUMP_FORMAT || header.schema > SCHEMA_VERSION) {
          throw errnoError('EINVAL', 'load', undefined, `the dump is of format ${header.format}, schema ${header.schema}; this build of Strata reads format ${DUMP_FORMAT}, schema ${SCHEMA_VERSION}: upgrade Strata`);
        }
        continue;
      }
      if (end !== null) throw errnoError('EINVAL', 'load', undefined, `line ${lineNo}: the dump goes on after its end line`);
      if (item.end === true) {
        end = item as unknown as DumpCounts;
        continue;
      }
      const table = String(item.table);
      const spec = LOGGED_TABLES[table];
      if (!spec) throw errnoError('EINVAL', 'load', undefined, `line ${lineNo}: unknown table "${table}"`);
      const row = decodeRow(table, item.row as Record<string, unknown>);
      await c.run(`INSERT INTO ${table} (${spec.columns.join(', ')}) VALUES (${spec.columns.map(() => '?').join(', ')})`, spec.columns.map((col) => row[col] ?? null));
      counts[table] = (counts[table] ?? 0) + 1;
      if (++total % PAGE === 0) options.progress?.(total);
    }
    if (header === null) throw errnoError('EINVAL', 'load', undefined, 'the dump is empty');
    if (end === null) throw errnoError('EINVAL', 'load', undefined, 'the dump has no end line: it was cut short (nothing was loaded)');
    for (const [table, n] of Object.entries(end.rows)) {
      if ((counts[table] ?? 0) !== n) throw errnoError('EINVAL', 'load', undefined, `the dump's end line says ${n} rows of ${table}, but ${counts[table] ?? 0} came: the file is damaged (nothing was loaded)`);
    }
    await derive(c, db.dialect.name, header.version);
    await options.finish?.(c, header);
    options.progress?.(total);
    return { ...header, rows: counts, omitted: end.omitted ?? [] };
  }, { bulk: true });
}

/** What a volume keeps besides its rows: counters, the next ids, the version it is at. */
async function derive(c: SqlConn, dialect: string, version: number): Promise<void> {
  const inodes = Number((await c.get<{ n: unknown }>('SELECT count(*) AS n FROM inodes'))!.n);
  // Each file's stored bytes rounded up to 4 KiB, with arithmetic every server does on integers
  // (MySQL's "/" would not truncate).
  const used = Number((await c.get<{ n: unknown }>(`SELECT coalesce(sum(stored + 4095 - (stored + 4095) % 4096), 0) AS n FROM inodes WHERE mode >= ${0o100000} AND mode < ${0o110000}`))!.n);
  const maxIno = Number((await c.get<{ n: unknown }>('SELECT coalesce(max(ino), 2) AS n FROM inodes'))!.n);
  const maxSlice = Math.max(
    Number((await c.get<{ n: unknown }>('SELECT coalesce(max(id), 0) AS n FROM slice_refs'))!.n),
    Number((await c.get<{ n: unknown }>('SELECT coalesce(max(id), 0) AS n FROM slices'))!.n),
  );
  await c.run('DELETE FROM counters');
  await c.run('INSERT INTO counters (name, value) VALUES (?, ?), (?, ?)', ['used_bytes', used, 'inodes', inodes]);
  await c.run('DELETE FROM allocators');
  await c.run('INSERT INTO allocators (name, next) VALUES (?, ?), (?, ?)', ['inode', maxIno + 1, 'slice', maxSlice + 1]);
  await c.run('UPDATE vstate SET version = ?', [version]);
  // Cookies go on after the highest loaded one (SQLite and MySQL move their counters on an
  // explicit insert by themselves).
  if (dialect === 'postgres') await c.run("SELECT setval(pg_get_serial_sequence('dentries', 'cookie'), (SELECT coalesce(max(cookie), 1) FROM dentries))");
}
