// Throwaway PostgreSQL and MariaDB servers for tests and benches (bench/ is built, test/ is not): each in a temp directory, on a
// free loopback port, as the user the server insists on (postgres / mysql) when run as root, with
// a password-protected login for Strata. Started once per test run (test/helpers/servers-setup.ts)
// and stopped at its end. Speed settings (no fsync) are for tests only; benches ask for durable.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const STRATA_USER = 'strata';
export const STRATA_PASSWORD = 'strata-test-password';

/** What a test process needs to reach a running server (it crosses from the global setup to the
 * test workers, so it is plain data). */
export interface ServerInfo {
  kind: 'postgres' | 'mysql';
  host: string;
  port: number;
  /** PostgreSQL: the socket directory the administrator connects through. */
  socketDir?: string;
  /** PostgreSQL: its binaries. */
  bin?: string;
}

export interface ServerAdmin {
  info: ServerInfo;
  /** A URL for database `db` as the strata user. */
  url(db: string): string;
  /** Create an empty database the strata user owns. */
  createDatabase(db: string): Promise<void>;
  /** Run SQL as the administrator (tests that break things on purpose, cleanup). */
  admin(sql: string, db?: string): Promise<string>;
}

export interface TestServer extends ServerAdmin {
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const root = () => userInfo().uid === 0;

/** Run as `user` when we are root (the servers refuse root), as ourselves otherwise. */
function as(user: string, cmd: string, args: string[]): [string, string[]] {
  return root() ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
}

function owned(dir: string, user: string): void {
  mkdirSync(dir, { recursive: true });
  if (root()) {
    const { uid, gid } = userIds(user);
    chownSync(dir, uid, gid);
  }
}

function userIds(user: string): { uid: number; gid: number } {
  // /etc/passwd: name:x:uid:gid:...
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`the system user "${user}" does not exist: install the server's Debian package`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The newest PostgreSQL server binaries Debian installed. */
export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(base, versions[0]!, 'bin') : null;
}

export function mariadbBin(): string | null {
  for (const p of ['/usr/sbin/mariadbd', '/usr/sbin/mysqld']) if (existsSync(p)) return p;
  return null;
}

/** 'test': no fsync at all (tests measure behaviour, not durability). 'bench': fsync on, commits
 * acknowledged before their WAL is flushed (synchronous_commit = off; MariaDB: log written at
 * commit, flushed each second) — the durability of SQLite's WAL with synchronous = NORMAL, which
 * the benches compare them with: a process crash loses nothing, an OS crash the last moments. */
export type ServerMode = 'test' | 'bench';

export async function startPostgres(options: { mode?: ServerMode } = {}): Promise<TestServer> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (Debian package postgresql): /usr/lib/postgresql/*/bin/postgres is missing');
  const dir = mkdtempSync(join(tmpdir(), 'strata-pg-'));
  // The server user must be able to walk to its data directory.
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  owned(dir, 'postgres');
  const port = await freePort();
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${STRATA_PASSWORD}\n`, { mode: 0o644 });
  const pg = (cmd: string, args: string[]) => as('postgres', join(bin, cmd), args);
  await run(...pg('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C']));
  rmSync(pwfile);
  const settings = options.mode === 'bench' ? ['-c', 'synchronous_commit=off', '-c', 'shared_buffers=256MB']
    : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  await run(...pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o',
    ['-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...settings].join(' '), 'start']));
  const info: ServerInfo = { kind: 'postgres', host: '127.0.0.1', port, socketDir: dir, bin };
  const admin = serverAdmin(info);
  await admin.admin(`CREATE ROLE ${STRATA_USER} LOGIN PASSWORD '${STRATA_PASSWORD}'`);
  return {
    ...admin,
    async stop() {
      await run(...pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Administration of a running server from any process of the test run. */
export function serverAdmin(info: ServerInfo): ServerAdmin {
  if (info.kind === 'postgres') {
    const psql = async (sql: string, db = 'postgres') => (await run(...as('postgres', join(info.bin!, 'psql'),
      ['-h', info.socketDir!, '-p', String(info.port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql]))).stdout;
    return {
      info,
      url: (db) => `postgres://${STRATA_USER}:${STRATA_PASSWORD}@${info.host}:${info.port}/${db}`,
      createDatabase: async (db) => { await psql(`CREATE DATABASE ${db} OWNER ${STRATA_USER}`); },
      admin: psql,
    };
  }
  const client = async (sql: string, db?: string) => (await run('mariadb', ['--no-defaults', '-h', info.host, '-P', String(info.port), '-u', 'root', '-N', '-B', ...(db ? ['-D', db] : []), '-e', sql])).stdout;
  return {
    info,
    url: (db) => `mysql://${STRATA_USER}:${STRATA_PASSWORD}@${info.host}:${info.port}/${db}`,
    createDatabase: async (db) => {
      await client(`CREATE DATABASE ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      await client(`GRANT ALL ON ${db}.* TO '${STRATA_USER}'@'127.0.0.1'`);
    },
    admin: client,
  };
}

export async function startMariadb(options: { mode?: ServerMode } = {}): Promise<TestServer> {
  const server = mariadbBin();
  if (!server || !existsSync('/usr/bin/mariadb-install-db')) throw new Error('MariaDB is not installed (Debian package mariadb-server): mariadbd is missing');
  const dir = mkdtempSync(join(tmpdir(), 'strata-my-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'my');
  owned(data, 'mysql');
  const port = await freePort();
  const sock = join(data, 'mysqld.sock');
  await run('mariadb-install-db', ['--no-defaults', '--user=mysql', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db']);
  const speed = options.mode === 'bench' ? ['--innodb-flush-log-at-trx-commit=2']
    : ['--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0', '--sync-binlog=0'];
  const child: ChildProcess = spawn(server, ['--no-defaults', '--user=mysql', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1',
    `--socket=${sock}`, `--pid-file=${join(data, 'mysqld.pid')}`, '--skip-log-bin', '--max-connections=300', '--innodb-buffer-pool-size=128M', ...speed],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const client = (sql: string, db?: string) => run('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N', '-B', ...(db ? ['-D', db] : []), '-e', sql]);
  try {
    await waitFor('MariaDB', async () => {
      if (child.exitCode !== null) throw new Error(`mariadbd exited: ${log.slice(-2000)}`);
      await client('SELECT 1');
      return true;
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`MariaDB did not start: ${(err as Error).message}\n${log.slice(-2000)}`);
  }
  await client(`CREATE USER '${STRATA_USER}'@'127.0.0.1' IDENTIFIED BY '${STRATA_PASSWORD}'`);
  return {
    ...serverAdmin({ kind: 'mysql', host: '127.0.0.1', port }),
    async stop() {
      const gone = new Promise((r) => child.once('exit', r));
      await run('mariadb-admin', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', 'shutdown']).catch(() => child.kill('SIGKILL'));
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
