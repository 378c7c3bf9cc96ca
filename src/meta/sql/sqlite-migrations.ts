// How an SQLite volume reaches the current schema (schema.ts): numbered migrations, the last one
// applied recorded in `PRAGMA user_version`. Opening a database newer than this build refuses
// rather than guessing (drivers/sqlite.ts).
import type Database from 'better-sqlite3';
import { dataBytesInChunks, type Span } from '../coverage.js';
import { CHUNK_SIZE } from '../meta.js';
import { UNLOGGED_SETTINGS } from './schema.js';

/** A migration is SQL, or a function for what SQL alone cannot compute. */
export type Migration = string | ((db: Database.Database) => void);

/** Migration N (1-based) brings a database from user_version N-1 to N. */
export const MIGRATIONS: readonly Migration[] = [
  // 1: the initial schema.
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE inodes (
    ino INTEGER PRIMARY KEY,
    mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, rdev INTEGER NOT NULL DEFAULT 0,
    nlink INTEGER NOT NULL, length INTEGER NOT NULL DEFAULT 0,
    atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, btime INTEGER NOT NULL,
    parent INTEGER NOT NULL
  );
  -- cookie: the readdir offset; AUTOINCREMENT so a cookie is never handed out twice.
  CREATE TABLE dentries (
    cookie INTEGER PRIMARY KEY AUTOINCREMENT,
    parent INTEGER NOT NULL, name TEXT NOT NULL, ino INTEGER NOT NULL, type INTEGER NOT NULL,
    UNIQUE (parent, name)
  );
  CREATE INDEX dentries_by_parent ON dentries (parent, cookie);
  CREATE INDEX dentries_by_ino ON dentries (ino);
  CREATE TABLE symlinks (ino INTEGER PRIMARY KEY, target TEXT NOT NULL);
  CREATE TABLE slices (
    ino INTEGER NOT NULL, chunk INTEGER NOT NULL, seq INTEGER NOT NULL,
    id INTEGER NOT NULL, size INTEGER NOT NULL, pos INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,
    PRIMARY KEY (ino, chunk, seq)
  ) WITHOUT ROWID;
  CREATE TABLE slice_refs (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, refs INTEGER NOT NULL);
  -- Slices with no reference left; their objects are deleted in the background, then the row goes.
  CREATE TABLE pending_slices (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, since_ms INTEGER NOT NULL);
  CREATE TABLE xattrs (ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ino, name)) WITHOUT ROWID;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  -- Id allocators: per-engine bookkeeping, not replicated.
  CREATE TABLE allocators (name TEXT PRIMARY KEY, next INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, info TEXT NOT NULL, started_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL
  );
  CREATE TABLE open_files (session INTEGER NOT NULL, ino INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (session, ino)) WITHOUT ROWID;
  CREATE INDEX open_files_by_ino ON open_files (ino);
  -- Inodes with no name left but still open somewhere: freed when the last session releases them.
  CREATE TABLE orphans (ino INTEGER PRIMARY KEY, since_ms INTEGER NOT NULL);
  CREATE TABLE flocks (ino INTEGER NOT NULL, session INTEGER NOT NULL, owner TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (ino, session, owner)) WITHOUT ROWID;
  CREATE TABLE plocks (
    ino INTEGER NOT NULL, session INTEGER NOT NULL, owner TEXT NOT NULL, kind TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, pid INTEGER NOT NULL
  );
  CREATE INDEX plocks_by_ino ON plocks (ino);
  CREATE TABLE trash (ino INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL, deleted_ms INTEGER NOT NULL, hour TEXT NOT NULL);
  CREATE TABLE vstate (version INTEGER NOT NULL);
  INSERT INTO vstate VALUES (0);
  -- rows: JSON array of {table, kind: 'put'|'delete', row} in the order the changes were made.
  CREATE TABLE changes (version INTEGER PRIMARY KEY, op TEXT NOT NULL, time_ms INTEGER NOT NULL, rows TEXT NOT NULL);
  `,
  // 2: each file's stored bytes (holes take no space), and used space counted from them.
  (db) => {
    db.exec('ALTER TABLE inodes ADD COLUMN stored INTEGER NOT NULL DEFAULT 0');
    const files = db.prepare('SELECT DISTINCT ino FROM slices').pluck().all() as number[];
    const slices = db.prepare('SELECT chunk, id, pos, len FROM slices WHERE ino = ? ORDER BY chunk, seq');
    const set = db.prepare('UPDATE inodes SET stored = ? WHERE ino = ?');
    for (const ino of files) {
      set.run(dataBytesInChunks(slices.all(ino) as (Span & { chunk: number })[], CHUNK_SIZE), ino);
    }
    db.exec(`UPDATE counters SET value = (SELECT coalesce(sum((stored + 4095) / 4096 * 4096), 0) FROM inodes WHERE mode & ${0o170000} = ${0o100000})
      WHERE name = 'used_bytes'`);
    // Earlier builds logged storage credentials with the other settings: scrub them.
    const logged = db.prepare("SELECT version, rows FROM changes WHERE rows LIKE '%storageCredentials%'").all() as { version: number; rows: string }[];
    const rewrite = db.prepare('UPDATE changes SET rows = ? WHERE version = ?');
    for (const c of logged) {
      const rows = (JSON.parse(c.rows) as { table: string; row: { key?: string } }[]).filter((r) => !(r.table === 'settings' && UNLOGGED_SETTINGS.includes(r.row.key ?? '')));
      rewrite.run(JSON.stringify(rows), c.version);
    }
  },
  // 3: names every SQL server accepts unquoted (KEY and ROWS are reserved in MySQL, END in
  // PostgreSQL); the change log is written by the engine now, not by per-connection triggers.
  (db) => {
    db.exec('ALTER TABLE settings RENAME COLUMN key TO name');
    db.exec('ALTER TABLE changes RENAME COLUMN rows TO body');
    db.exec('ALTER TABLE plocks RENAME COLUMN "end" TO stop');
    db.exec('CREATE TABLE consumers (name TEXT PRIMARY KEY, applied INTEGER NOT NULL) WITHOUT ROWID');
    const logged = db.prepare("SELECT version, body FROM changes WHERE body LIKE '%\"settings\"%'").all() as { version: number; body: string }[];
    const rewrite = db.prepare('UPDATE changes SET body = ? WHERE version = ?');
    for (const c of logged) {
      const rows = (JSON.parse(c.body) as { table: string; row: Record<string, unknown> }[]).map((r) => {
        if (r.table !== 'settings' || !('key' in r.row)) return r;
        const { key, ...rest } = r.row;
        return { ...r, row: { name: key, ...rest } };
      });
      rewrite.run(JSON.stringify(rows), c.version);
    }
  },
  // 4: slices that are parts of existing objects (import --mode link).
  'CREATE TABLE external_slices (id INTEGER PRIMARY KEY, object TEXT NOT NULL, off INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL);',
  // 5: the durable queue of bucket event notifications.
  `
  CREATE TABLE event_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, okey TEXT NOT NULL, body TEXT NOT NULL, created_ms INTEGER NOT NULL);
  CREATE INDEX event_queue_by_target_seq ON event_queue (target, seq);
  CREATE TABLE event_targets (
    target TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL,
    delivered INTEGER NOT NULL, failed INTEGER NOT NULL, dropped INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];

