// vitest globalSetup: one PostgreSQL and one MariaDB for the whole run (tests create a database
// each), stopped when the run ends. A server that cannot start is reported to the tests that
// need it (test/helpers/databases.ts), which fail under npm test and skip otherwise.
// STRATA_TEST_SERVERS=0 starts none (a developer running unrelated tests).
import type { TestProject } from 'vitest/node';
import { startMariadb, startPostgres, type TestServer } from '../../bench/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** JSON: a ServerInfo, or { error } when the server could not start. */
    postgres: string;
    mysql: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: TestServer[] = [];
  const off = process.env.STRATA_TEST_SERVERS === '0';
  await Promise.all(([['postgres', startPostgres], ['mysql', startMariadb]] as const).map(async ([name, start]) => {
    if (off) {
      project.provide(name, JSON.stringify({ error: 'not started (STRATA_TEST_SERVERS=0)' }));
      return;
    }
    try {
      const server = await start();
      started.push(server);
      project.provide(name, JSON.stringify(server.info));
    } catch (err) {
      project.provide(name, JSON.stringify({ error: (err as Error).message }));
    }
  }));
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
}
