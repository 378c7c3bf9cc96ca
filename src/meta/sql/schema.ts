// The metadata schema, once: which tables hold volume state (and so enter the change log, dumps
// and loads), their columns and keys, and the DDL each server gets. SQLite volumes reach it
// through numbered migrations (sqlite-migrations.ts, recorded in PRAGMA user_version); a server
// database is created at the current version and records it in `schema_info`.
import type { DialectName } from './driver.js';

export const SCHEMA_VERSION = 5;

type ColumnType = 'int' | 'text' | 'longtext' | 'blob' | 'serial';

interface TableSpec {
  columns: Record<string, ColumnType>;
  key: string[];
  /** Column defaults (integers). */
  defaults?: Record<string, number>;
  unique?: string[][];
  indexes?: string[][];
  /** Volume state: replicated through the change log, dumped and loaded. */
  logged?: { int64?: string[]; blobs?: string[] };
}

/** Every table, in the order a load fills them. */
export const TABLES: Readonly<Record<string, TableSpec>> = {
  settings: { columns: { name: 'text', value: 'longtext' }, key: ['name'], logged: {} },
  inodes: {
    columns: {
      ino: 'int', mode: 'int', uid: 'int', gid: 'int', rdev: 'int', nlink: 'int', length: 'int',
      atime: 'int', mtime: 'int', ctime: 'int', btime: 'int', parent: 'int', stored: 'int',
    },
    key: ['ino'],
    defaults: { rdev: 0, length: 0, stored: 0 },
    // Nanosecond times exceed 2^53: logged as decimal strings so a replay keeps every digit.
    logged: { int64: ['atime', 'mtime', 'ctime', 'btime'] },
  },
  // cookie: the readdir offset, numbered by the database so it is never handed out twice.
  dentries: {
    columns: { cookie: 'serial', parent: 'int', name: 'text', ino: 'int', type: 'int' },
    key: ['parent', 'name'],
    unique: [['parent', 'name']],
    indexes: [['parent', 'cookie'], ['ino']],
    logged: {},
  },
  symlinks: { columns: { ino: 'int', target: 'longtext' }, key: ['ino'], logged: {} },
  slices: {
    columns: { ino: 'int', chunk: 'int', seq: 'int', id: 'int', size: 'int', pos: 'int', off: 'int', len: 'int' },
    key: ['ino', 'chunk', 'seq'],
    logged: {},
  },
  slice_refs: { columns: { id: 'int', size: 'int', refs: 'int' }, key: ['id'], logged: {} },
  // Slices that are bytes [off, off+size) of an existing object (import's link mode) rather than
  // blocks of their own; etag is the version imported (a read of another one is an error).
  external_slices: { columns: { id: 'int', object: 'longtext', off: 'int', size: 'int', etag: 'text' }, key: ['id'], logged: {} },
  xattrs: { columns: { ino: 'int', name: 'text', value: 'blob' }, key: ['ino', 'name'], logged: { blobs: ['value'] } },
  trash: { columns: { ino: 'int', parent: 'int', name: 'text', deleted_ms: 'int', hour: 'text' }, key: ['ino'], logged: {} },
  // Slices with no reference left; their objects are deleted in the background, then the row goes.
  pending_slices: { columns: { id: 'int', size: 'int', since_ms: 'int' }, key: ['id'] },
  counters: { columns: { name: 'text', value: 'int' }, key: ['name'] },
  // Id allocators: per-engine bookkeeping, not replicated.
  allocators: { columns: { name: 'text', next: 'int' }, key: ['name'] },
  sessions: { columns: { id: 'serial', info: 'longtext', started_ms: 'int', heartbeat_ms: 'int' }, key: ['id'] },
  open_files: { columns: { session: 'int', ino: 'int', count: 'int' }, key: ['session', 'ino'], indexes: [['ino']] },
  // Inodes with no name left but still open somewhere: freed when the last session releases them.
  orphans: { columns: { ino: 'int', since_ms: 'int' }, key: ['ino'] },
  flocks: { columns: { ino: 'int', session: 'int', owner: 'text', kind: 'text' }, key: ['ino', 'session', 'owner'] },
  plocks: {
    columns: { ino: 'int', session: 'int', owner: 'text', kind: 'text', start: 'int', stop: 'int', pid: 'int' },
    key: [],
    indexes: [['ino']],
  },
  vstate: { columns: { version: 'int' }, key: [] },
  // Readers of the change log (mirrors): the log is not pruned past what they applied.
  consumers: { columns: { name: 'text', applied: 'int' }, key: ['name'] },
  // Bucket event notifications waiting for delivery, per target in seq order (okey: the object's
  // "bucket/key", which delivery keeps in order); body is the S3 event record without its sequencer.
  event_queue: { columns: { seq: 'serial', target: 'text', okey: 'longtext', body: 'longtext', created_ms: 'int' }, key: ['seq'], indexes: [['target', 'seq']] },
  // One row per notification target: which gateway delivers for it until when, and its totals.
  event_targets: {
    columns: { target: 'text', holder: 'text', until_ms: 'int', delivered: 'int', failed: 'int', dropped: 'int' },
    key: ['target'],
  },
  // body: JSON array of {table, kind: 'put'|'delete', row} in the order the changes were made.
  changes: { columns: { version: 'int', op: 'text', time_ms: 'int', body: 'longtext' }, key: ['version'] },
};

/** The tables whose rows are volume state, with what the change log needs to know of them. */
export const LOGGED_TABLES: Readonly<Record<string, { key: string[]; columns: string[]; blobs?: string[]; int64?: string[]; ints: string[]; texts: string[] }>> =
  Object.fromEntries(Object.entries(TABLES).filter(([, t]) => t.logged).map(([name, t]) => [name, {
    key: t.key, columns: Object.keys(t.columns), blobs: t.logged!.blobs, int64: t.logged!.int64,
    ints: Object.entries(t.columns).filter(([c, type]) => (type === 'int' || type === 'serial') && !t.logged!.int64?.includes(c)).map(([c]) => c),
    texts: Object.entries(t.columns).filter(([, type]) => type === 'text' || type === 'longtext').map(([c]) => c),
  }]));

/** Settings rows that never enter the change log or a dump: secrets stay in the engines that
 * hold the volume (a mirror is made with the ones current then; later changes are not sent). */
export const UNLOGGED_SETTINGS: readonly string[] = ['storageCredentials'];

/** Settings of one engine's copy of a volume, not of the volume (a mirror's primary, its own
 * store, how far its blocks are copied; the cache groups of the hosts that use this engine):
 * never logged, dumped or loaded. */
export const LOCAL_SETTINGS_PREFIXES = ['mirror.', 'cachegroup.'] as const;

/** Whether a settings row stays with the engine that holds it. */
export function isLocalSetting(name: string): boolean {
  return LOCAL_SETTINGS_PREFIXES.some((p) => name.startsWith(p));
}

/** SQL that is true for a settings row of the volume (not local to the engine). */
export const VOLUME_SETTING_SQL = LOCAL_SETTINGS_PREFIXES.map((p) => `name NOT LIKE '${p}%'`).join(' AND ');

/** MySQL text collations that compare byte for byte without padding, best first: "a" and
 * "a " are two names, as a file system's must be (utf8mb4_bin is PAD SPACE: equal). */
export const MYSQL_NO_PAD_COLLATIONS = ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin'] as const;

function types(dialect: Exclude<DialectName, 'sqlite'>, collation: string): Record<ColumnType, string> {
  if (dialect === 'postgres') {
    return { int: 'BIGINT', text: 'TEXT', longtext: 'TEXT', blob: 'BYTEA', serial: 'BIGINT GENERATED BY DEFAULT AS IDENTITY' };
  }
  return {
    int: 'BIGINT', text: `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${collation}`,
    longtext: `LONGTEXT CHARACTER SET utf8mb4 COLLATE ${collation}`, blob: 'LONGBLOB', serial: 'BIGINT AUTO_INCREMENT',
  };
}

/** ALTER statements giving a MySQL volume's text columns `collation` (upgrading a PAD SPACE one). */
export function mysqlCollationUpgrade(collation: string): string[] {
  const t = types('mysql', collation);
  const out: string[] = [];
  for (const [name, table] of Object.entries(TABLES)) {
    const cols = Object.entries(table.columns).filter(([, type]) => type === 'text' || type === 'longtext');
    if (cols.length > 0) out.push(`ALTER TABLE ${name} ${cols.map(([c, type]) => `MODIFY ${c} ${t[type]} NOT NULL`).join(', ')}`);
  }
  return out;
}

/** What a server database at `version` lacks of SCHEMA_VERSION: the statements that make it (the
 * caller records the new version once every table is there). */
export function serverUpgrade(dialect: Exclude<DialectName, 'sqlite'>, version: number, collation = 'utf8mb4_bin'): string[] {
  const out: string[] = [];
  // 4: slices that are parts of existing objects (import --mode link).
  if (version < 4) out.push(...tableSql(dialect, 'external_slices', collation));
  // 5: the durable queue of bucket event notifications.
  if (version < 5) out.push(...tableSql(dialect, 'event_queue', collation), ...tableSql(dialect, 'event_targets', collation));
  return out;
}

/** CREATE statements for a fresh server database at SCHEMA_VERSION. */
export function serverSchema(dialect: Exclude<DialectName, 'sqlite'>, collation = 'utf8mb4_bin'): string[] {
  const out: string[] = [];
  for (const name of Object.keys(TABLES)) out.push(...tableSql(dialect, name, collation));
  out.push('CREATE TABLE schema_info (version BIGINT NOT NULL)');
  out.push(`INSERT INTO schema_info (version) VALUES (${SCHEMA_VERSION})`);
  out.push('INSERT INTO vstate (version) VALUES (0)');
  return out;
}

/** CREATE TABLE (and its indexes) for table `name` on a server. */
function tableSql(dialect: Exclude<DialectName, 'sqlite'>, name: string, collation: string): string[] {
  const typeOf = types(dialect, collation);
  const t = TABLES[name]!;
  const cols = Object.entries(t.columns).map(([c, type]) => {
    const serialKey = type === 'serial' && t.key.length === 1 && t.key[0] === c;
    const def = t.defaults?.[c] !== undefined ? ` DEFAULT ${t.defaults[c]}` : '';
    return `${c} ${typeOf[type]}${type === 'serial' ? '' : ' NOT NULL'}${def}${serialKey ? ' PRIMARY KEY' : ''}`;
  });
  const serialInKey = t.key.length === 1 && t.columns[t.key[0]!] === 'serial';
  if (t.key.length > 0 && !serialInKey) cols.push(`PRIMARY KEY (${t.key.join(', ')})`);
  // The dentry cookie is a serial column but not the key: it needs a key of its own.
  for (const [c, type] of Object.entries(t.columns)) if (type === 'serial' && !serialInKey) cols.push(`UNIQUE (${c})`);
  for (const u of t.unique ?? []) if (u.join() !== t.key.join()) cols.push(`UNIQUE (${u.join(', ')})`);
  return [
    `CREATE TABLE ${name} (${cols.join(', ')})${dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ''}`,
    ...(t.indexes ?? []).map((idx) => `CREATE INDEX ${name}_by_${idx.join('_')} ON ${name} (${idx.join(', ')})`),
  ];
}
