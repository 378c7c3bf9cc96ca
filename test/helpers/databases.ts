// The database servers of this test run (started by servers-setup.ts): whether one is there,
// and a fresh database on it for a test.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { need, type Need } from './require.js';
import { serverAdmin, type ServerAdmin, type ServerInfo } from '../../bench/servers.js';

export type ServerKind = 'postgres' | 'mysql';

const NAMES: Record<ServerKind, string> = { postgres: 'PostgreSQL', mysql: 'MariaDB' };

export interface TestDatabases extends Need {
  /** The server's administration (only when it is there). */
  admin(): ServerAdmin;
  /** A new, empty database; its URL for the strata user. */
  fresh(prefix?: string): Promise<string>;
}

export function databases(kind: ServerKind): TestDatabases {
  const provided = JSON.parse(inject(kind)) as ServerInfo | { error: string };
  const missing = 'error' in provided ? provided.error : null;
  const needed = need(NAMES[kind], missing);
  const admin = () => {
    needed.check();
    return serverAdmin(provided as ServerInfo);
  };
  return {
    ...needed,
    check: () => needed.check(),
    admin,
    async fresh(prefix = 't') {
      const a = admin();
      const db = `${prefix}_${randomBytes(6).toString('hex')}`;
      await a.createDatabase(db);
      return a.url(db);
    },
  };
}
