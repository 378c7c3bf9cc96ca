// bench/meta: the metadata engines side by side, in one run on this machine — SQLite, PostgreSQL
// and MariaDB (throwaway servers started here, with the durability of SQLite's WAL: a process
// crash loses nothing; see bench/servers.ts). Per engine: create, stat, readdir, rename and
// unlink of BENCH_META_FILES files (10,000) by 1 client and by 4 client processes (each in its
// own directory, as mdtest -u does), and a 1 GiB sequential write and read through the SDK (best of two).
// Ratios are to SQLite in the same run. On PostgreSQL it also samples how much of the time the
// 4 clients' backends wait on row locks: the price of versions committing in order.
// It also prints how busy the machine was with 1 client: the ceiling on what 4 clients can reach here,
// and how many round trips to the server each operation waits for (bench/round-trips.ts).
// Run: npm run bench:meta; writes bench/results/meta.json. Env: BENCH_META_FILES, BENCH_META_MIB.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Volume } from '../src/index.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { readBig, timed, writeBig } from './big-files.js';
import { ROUND_TRIP_STEPS, roundTrips } from './round-trips.js';
import { startMariadb, startPostgres, type TestServer } from './servers.js';
import { envInt, printTable, progressBar, writeJson, type BenchFs, type Row } from './table.js';

const FILES = envInt('BENCH_META_FILES', 10_000);
const MIB = envInt('BENCH_META_MIB', 1024);
const PHASES = ['create', 'stat', 'readdir', 'rename', 'unlink'] as const;
const CLIENTS = [1, 4];
const ENGINES = ['sqlite', 'postgres', 'mysql'] as const;
type Engine = (typeof ENGINES)[number];
const CLIENT = join(packageRoot(), 'dist', 'bench', 'meta-client.js');

/** One client's phase: operations, milliseconds, and its slowest operations' milliseconds. */
interface Answer { phase: string; ops: number; ms: number; p999: number | null; max: number | null }

interface Client {
  proc: ChildProcess;
  next(): Promise<Answer>;
}

function startClient(url: string, dir: string, count: number): Client {
  const proc = spawn(process.execPath, [CLIENT, url, dir, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else lines.push(l);
  });
  return {
    proc,
    next: () => new Promise((resolve, reject) => {
      const take = (l: string) => resolve(JSON.parse(l) as Answer);
      const ready = lines.shift();
      if (ready !== undefined) take(ready);
      else waiting.push(take);
      proc.once('exit', (code) => reject(new Error(`bench client exited with ${code}`)));
    }),
  };
}

/** While `during` runs, the share of active strata backends found waiting on a lock. */
async function lockWaits(server: TestServer, during: Promise<unknown>): Promise<number> {
  const client = new pg.Client({ host: server.info.socketDir, port: server.info.port, user: 'postgres', database: 'postgres' });
  await client.connect();
  let active = 0;
  let waiting = 0;
  let done = false;
  void during.finally(() => { done = true; });
  while (!done) {
    const r = await client.query("SELECT count(*) FILTER (WHERE state = 'active') AS active, count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') AS waiting FROM pg_stat_activity WHERE application_name = 'strata'");
    active += Number(r.rows[0].active);
    waiting += Number(r.rows[0].waiting);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await client.end();
  return active === 0 ? 0 : waiting / active;
}

/** The machine's CPU time so far (/proc/stat): busy and total jiffies over all cores. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** ops/s of each phase with `n` client processes; lock waits of the create phase (PostgreSQL). */
type Tails = Record<string, { p999: number; max: number }>;

async function metadataPhases(url: string, n: number, server: TestServer | null): Promise<{ rates: Record<string, number>; busy: Record<string, number>; tails: Tails; createLockWait?: number }> {
  const clients = Array.from({ length: n }, (_, k) => startClient(url, `/bench-${n}-${k}`, Math.ceil(FILES / n)));
  const all = async (phase: string) => {
    for (const c of clients) c.proc.stdin!.write(`${phase}\n`);
    return Promise.all(clients.map((c) => c.next()));
  };
  const rates: Record<string, number> = {};
  // How much of the machine a phase kept busy: with 1 client at busy share b, no number of
  // clients can go faster than 1/b times one client here, however little they contend.
  const busy: Record<string, number> = {};
  const tails: Tails = {};
  let createLockWait: number | undefined;
  try {
    await all('mkdir');
    for (const phase of PHASES) {
      const before = cpuTimes();
      const running = all(phase);
      if (phase === 'create' && server && n > 1) createLockWait = await lockWaits(server, running);
      const answers = await running;
      const after = cpuTimes();
      busy[phase] = (after.busy - before.busy) / Math.max(1, after.total - before.total);
      rates[phase] = answers.reduce((s, a) => s + a.ops, 0) / (Math.max(...answers.map((a) => a.ms)) / 1000);
      if (answers.every((a) => a.p999 !== null && a.max !== null)) tails[phase] = { p999: Math.max(...answers.map((a) => a.p999!)), max: Math.max(...answers.map((a) => a.max!)) };
    }
  } finally {
    for (const c of clients) c.proc.stdin!.end('exit\n');
    await Promise.all(clients.map((c) => new Promise((r) => (c.proc.exitCode !== null ? r(null) : c.proc.once('exit', r)))));
  }
  return { rates, busy, tails, createLockWait };
}

async function sequential(url: string): Promise<{ write: number; read: number }> {
  const vol = await Volume.open(url, { client: 'bench-meta' });
  try {
    const fs = vol as unknown as BenchFs;
    // The best of two rounds: the first big write of a run pays for the disk's state, not the engine.
    let best = { write: 0, read: 0 };
    for (let round = 0; round < 2; round++) {
      const w = await timed(() => writeBig(fs, '/seq.bin', MIB, 7));
      const r = await timed(() => readBig(fs, '/seq.bin', MIB, 7));
      await vol.unlink('/seq.bin');
      best = { write: Math.max(best.write, MIB / (w / 1000)), read: Math.max(best.read, MIB / (r / 1000)) };
    }
    return best;
  } finally {
    await vol.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'strata-bench-meta-'));
  const servers: TestServer[] = [];
  const results: Record<Engine, { clients: Record<number, Record<string, number>>; busy: Record<number, Record<string, number>>; tails: Record<number, Tails>; createLockWait?: number; seq: { write: number; read: number } }> = {} as never;
  const trips: Partial<Record<Engine, Record<string, number>>> = {};
  const bar = progressBar('bench/meta', ENGINES.length * (CLIENTS.length + 1) + 2);
  try {
    const pgServer = await startPostgres({ mode: 'bench' });
    servers.push(pgServer);
    const myServer = await startMariadb({ mode: 'bench' });
    servers.push(myServer);
    for (const engine of ENGINES) {
      const server = engine === 'postgres' ? pgServer : engine === 'mysql' ? myServer : null;
      let url = `sqlite3://${join(work, `${engine}.db`)}`;
      if (server) {
        await server.createDatabase(`bench_${engine}`);
        url = server.url(`bench_${engine}`);
      }
      await Volume.format(url, { name: `bench-${engine}`, storage: `file://${join(work, `objects-${engine}`)}`, trashDays: 0 });
      const entry = { clients: {} as Record<number, Record<string, number>>, busy: {} as Record<number, Record<string, number>>, tails: {} as Record<number, Tails>, createLockWait: undefined as number | undefined, seq: { write: 0, read: 0 } };
      for (const n of CLIENTS) {
        const r = await metadataPhases(url, n, engine === 'postgres' ? server : null);
        entry.clients[n] = r.rates;
        entry.busy[n] = r.busy;
        entry.tails[n] = r.tails;
        if (r.createLockWait !== undefined) entry.createLockWait = r.createLockWait;
        bar.tick();
      }
      entry.seq = await sequential(url);
      bar.tick();
      results[engine] = entry;
    }
    for (const [engine, server] of [['postgres', pgServer], ['mysql', myServer]] as const) {
      await server.createDatabase(`bench_trips_${engine}`);
      const url = server.url(`bench_trips_${engine}`);
      // The default trash: unlink and rename over a file move it there, as users get it.
      await Volume.format(url, { name: `bench-trips-${engine}`, storage: `file://${join(work, `objects-trips-${engine}`)}` });
      trips[engine] = await roundTrips(url, server.info.port);
      bar.tick();
    }
  } finally {
    bar.stop();
    for (const s of servers) await s.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const target = (engine: Engine, what: string, n: number): string => {
    if (engine !== 'postgres') return '';
    if (what === 'create' && n === 1) return '>= 0.3x';
    if (what === 'stat' && n === 1) return '>= 0.5x';
    return '';
  };
  const met: string[] = [];
  const missed: string[] = [];
  const judge = (name: string, ok: boolean) => (ok ? met : missed).push(name);
  for (const n of CLIENTS) {
    for (const phase of PHASES) {
      const s = results.sqlite.clients[n]![phase]!;
      const p = results.postgres.clients[n]![phase]!;
      const m = results.mysql.clients[n]![phase]!;
      const t = target('postgres', phase, n);
      if (t) judge(`PostgreSQL ${phase} (${n} client)`, p / s >= (phase === 'create' ? 0.3 : 0.5));
      rows.push({ operation: `${phase}${phase === 'readdir' ? ' (entries)' : ''}`, clients: n, 'SQLite ops/s': s, 'PostgreSQL ops/s': p, 'MariaDB ops/s': m, 'PG/SQLite': p / s, 'MariaDB/SQLite': m / s, 'PG target': t });
    }
  }
  printTable(`Metadata operations, ${FILES.toLocaleString('en-US')} files (4 clients: separate processes, a directory each)`, rows);

  const scaling = PHASES.map((phase) => ({
    operation: phase,
    'SQLite 4/1': results.sqlite.clients[4]![phase]! / results.sqlite.clients[1]![phase]!,
    'PostgreSQL 4/1': results.postgres.clients[4]![phase]! / results.postgres.clients[1]![phase]!,
    'MariaDB 4/1': results.mysql.clients[4]![phase]! / results.mysql.clients[1]![phase]!,
    'PG CPU busy, 1 client': `${Math.round(100 * results.postgres.busy[1]![phase]!)}%`,
    'PG ceiling 4/1': 1 / results.postgres.busy[1]![phase]!,
    'PG target': phase === 'create' ? '>= 2x' : '',
  }));
  judge('PostgreSQL 4 clients >= 2x one client (create)', results.postgres.clients[4]!.create! / results.postgres.clients[1]!.create! >= 2);
  printTable('Scaling: 4 client processes against 1', scaling);
  console.log(`PostgreSQL, 4 clients creating: ${(100 * (results.postgres.createLockWait ?? 0)).toFixed(1)}% of the active backends' samples wait on a row lock (parent directories are distinct: these are the version row every change takes last and the counters every create moves)`);

  // The slowest operations one client waited on (SQLite: a commit that checkpoints the WAL in line
  // used to stall ~100 ms; the checkpoints now run on a thread of their own).
  const tailRows: Row[] = PHASES.filter((phase) => results.sqlite.tails[1]![phase]).map((phase) => {
    const row: Row = { operation: phase };
    for (const [engine, label] of [['sqlite', 'SQLite'], ['postgres', 'PostgreSQL'], ['mysql', 'MariaDB']] as const) {
      row[`${label} p99.9 ms`] = results[engine].tails[1]![phase]!.p999;
      row[`${label} max ms`] = results[engine].tails[1]![phase]!.max;
    }
    return row;
  });
  printTable('Slowest operations, 1 client (milliseconds)', tailRows);

  const seqRows: Row[] = (['write', 'read'] as const).map((k) => {
    const s = results.sqlite.seq[k];
    const p = results.postgres.seq[k];
    const m = results.mysql.seq[k];
    if (k === 'read') {
      judge('sequential read PostgreSQL >= 0.9x', p / s >= 0.9);
      judge('sequential read MariaDB >= 0.9x', m / s >= 0.9);
    }
    return { workload: `${k} 1 file x ${MIB} MiB (SDK)`, 'SQLite MiB/s': s, 'PostgreSQL MiB/s': p, 'MariaDB MiB/s': m, 'PG/SQLite': p / s, 'MariaDB/SQLite': m / s, target: k === 'read' ? '>= 0.9x' : '' };
  });
  printTable('Sequential I/O through the SDK (the metadata engine is the only difference)', seqRows);
  console.log('For scale: JuiceFS publishes 1,410 creates/s and 5,023 stats/s (mdtest).');
  const tripRows: Row[] = ROUND_TRIP_STEPS.map((step) => ({ 'operation (SDK)': step, 'PostgreSQL round trips': trips.postgres?.[step] ?? NaN, 'MariaDB round trips': trips.mysql?.[step] ?? NaN }));
  printTable('Round trips to the metadata server per operation, one after another (each costs the network round trip: 0.5-1 ms within a zone, tens of ms across regions)', tripRows);
  const file = await writeJson(packageRoot(), 'meta', { files: FILES, mib: MIB, results, rows, scaling, seq: seqRows, roundTrips: tripRows, tails: tailRows, met, missed });
  console.log(`\nsummary: ${met.length}/${met.length + missed.length} targets met${missed.length ? `; missed: ${missed.join(', ')}` : ''}. JSON: ${file}`);
}

await main();
