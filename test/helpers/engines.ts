// The metadata engines a suite can run on: an SQLite file in the test's directory, or a fresh
// database on the run's PostgreSQL or MariaDB (test/helpers/databases.ts).
import { join } from 'node:path';
import { databases, type TestDatabases } from './databases.js';
import { need, type Need } from './require.js';

export type Engine = 'sqlite' | 'postgres' | 'mysql';

const servers: Partial<Record<Engine, TestDatabases>> = {};

function server(kind: 'postgres' | 'mysql'): TestDatabases {
  servers[kind] ??= databases(kind);
  return servers[kind]!;
}

/** What tests on `kind` need (nothing more for SQLite). */
export function engineNeed(kind: Engine): Need {
  return kind === 'sqlite' ? need('SQLite', null) : server(kind);
}

/** A metadata URL for a new volume on `kind`; SQLite's file goes in `dir`. */
export async function metaUrlFor(kind: Engine, dir: string): Promise<string> {
  return kind === 'sqlite' ? `sqlite3://${join(dir, 'meta.db')}` : server(kind).fresh('vol');
}
