// What recording metrics costs: the same FUSE and gateway workloads against processes with
// metrics on (the default) and off (STRATA_METRICS=off: no latency is observed, nothing counted
// per request), in one run. Rounds alternate (on, off, off, on, ...) on two otherwise identical
// volumes, each round in freshly started processes, and the median round counts: these 2-core
// machines are noisy.
// Targets: throughput with metrics on >= 97% of off; p50 latency on <= 105% of off.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Volume } from '../src/index.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { envInt, median, printTable, progressBar, writeJson, type Row } from './table.js';

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const FILES = envInt('BENCH_SMALL_COUNT', 2000);
const OBJECTS = envInt('BENCH_OBJECTS', 1000);
const SEQ_MIB = envInt('BENCH_BIG_MIB', 256);
const CONCURRENCY = 8;
const MiB = 1024 * 1024;
type Mode = 'on' | 'off';
const MODES: Mode[] = ['on', 'off'];
/** BENCH_ONLY=REGEX: run only the workloads whose names match. */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
/** Every process started, stopped at the end however the run ends. */
const started: Child[] = [];

interface Child {
  child: ChildProcess;
  out: () => string;
  stop(): Promise<void>;
}

/** Start `strata ARGS` with metrics `mode`; ready when it messages its parent (a mount) or when
 * `ready` finds what it waits for in its output (a gateway's address). */
function start(args: string[], mode: Mode, ready: ((out: string) => boolean) | 'message', env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ...env, STRATA_METRICS: mode === 'on' ? '' : 'off' } });
  let out = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  return new Promise((resolve, reject) => {
    const me: Child = { child, out: () => out, stop };
    started.push(me);
    const check = () => { if (ready !== 'message' && ready(out)) resolve(me); };
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); check(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); check(); });
    if (ready === 'message') child.once('message', () => resolve(me));
    child.once('exit', (code) => reject(new Error(`strata ${args[0]} exited with ${code}:\n${out}`)));
  });
}

const p50 = median;

/** A workload's one round: its throughput (per second, in `unit`) and its per-call latencies (ms). */
interface Round { rate: number; latencies: number[] }
interface Workload<C> { name: string; unit: string; run(ctx: C, round: number): Promise<Round> }
/** Workloads that share a process: each round starts it afresh (metrics `mode`) and stops it, so
 * no process's state (its JIT, its heap) favours one mode over all rounds. */
interface Suite<C> { start(mode: Mode): Promise<C>; stop(ctx: C): Promise<void>; workloads: Workload<C>[] }

async function timedCalls(n: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<Round & { seconds: number }> {
  const latencies: number[] = new Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await call(i);
      latencies[i] = performance.now() - s;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { rate: n / seconds, latencies, seconds };
}

async function fuseSuite(dir: string): Promise<Suite<{ mnt: string; child: Child }>> {
  const urls = new Map<Mode, string>();
  for (const mode of MODES) {
    const metaUrl = `sqlite3://${join(dir, `fuse-${mode}`, 'meta.db')}`;
    await Volume.format(metaUrl, { name: `fuse${mode}`, storage: `file://${join(dir, `fuse-${mode}`, 'objects')}`, trashDays: 0 });
    await fs.mkdir(join(dir, `fuse-${mode}`, 'mnt'), { recursive: true });
    urls.set(mode, metaUrl);
  }
  const data = randomBytes(4096);
  const block = randomBytes(MiB);
  return {
    async start(mode) {
      const mnt = join(dir, `fuse-${mode}`, 'mnt');
      // Kernel caches off: every stat reaches the process, where the metrics are recorded.
      const child = await start(['mount', urls.get(mode)!, mnt, '--attr-cache', '0', '--entry-cache', '0', '--dir-entry-cache', '0'], mode, 'message');
      return { mnt, child };
    },
    stop: (ctx) => ctx.child.stop(),
    workloads: [
      {
        name: `FUSE create ${FILES} x 4 KiB files`, unit: 'files/s',
        async run(ctx, round) {
          const d = join(ctx.mnt, `c${round}`);
          await fs.mkdir(d);
          return timedCalls(FILES, 1, (i) => fs.writeFile(join(d, `f${i}`), data));
        },
      },
      {
        name: 'FUSE stat, kernel caches off', unit: 'stats/s',
        run: (ctx, round) => timedCalls(FILES, 1, (i) => fs.stat(join(ctx.mnt, `c${round}`, `f${i}`))),
      },
      {
        name: `FUSE seq write ${SEQ_MIB} MiB`, unit: 'MiB/s',
        async run(ctx, round) {
          const h = await fs.open(join(ctx.mnt, `seq${round}`), 'w');
          const r = await timedCalls(SEQ_MIB, 1, (i) => h.write(block, 0, MiB, i * MiB));
          await h.sync();
          await h.close();
          return { rate: SEQ_MIB / r.seconds, latencies: r.latencies };
        },
      },
      {
        name: `FUSE seq read ${SEQ_MIB} MiB`, unit: 'MiB/s',
        async run(ctx, round) {
          const h = await fs.open(join(ctx.mnt, `seq${round}`), 'r');
          const buf = Buffer.allocUnsafe(MiB);
          const r = await timedCalls(SEQ_MIB, 1, (i) => h.read(buf, 0, MiB, i * MiB));
          await h.close();
          return { rate: SEQ_MIB / r.seconds, latencies: r.latencies };
        },
      },
    ],
  };
}

async function gatewaySuite(dir: string): Promise<Suite<{ client: S3Client; child: Child }>> {
  const urls = new Map<Mode, string>();
  const env = { STRATA_GATEWAY_ACCESS_KEY: 'BENCHKEY', STRATA_GATEWAY_SECRET_KEY: 'bench-secret-key' };
  for (const mode of MODES) {
    const metaUrl = `sqlite3://${join(dir, `gw-${mode}`, 'meta.db')}`;
    await Volume.format(metaUrl, { name: `gw${mode}`, storage: `file://${join(dir, `gw-${mode}`, 'objects')}`, trashDays: 0 });
    urls.set(mode, metaUrl);
  }
  const made = new Set<Mode>();
  const small = randomBytes(4096);
  const large = randomBytes(64 * MiB);
  return {
    async start(mode) {
      const child = await start(['gateway', urls.get(mode)!, '127.0.0.1:0'], mode, (out) => /over S3 at http/.test(out), env);
      const endpoint = /over S3 at (http:\/\/[\d.:]+)/.exec(child.out())![1];
      const client = new S3Client({
        endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.STRATA_GATEWAY_ACCESS_KEY, secretAccessKey: env.STRATA_GATEWAY_SECRET_KEY },
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) }),
      });
      if (!made.has(mode)) {
        await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
        made.add(mode);
      }
      return { client, child };
    },
    async stop(ctx) {
      ctx.client.destroy();
      await ctx.child.stop();
    },
    workloads: [
      {
        name: `gateway PUT ${OBJECTS} x 4 KiB, ${CONCURRENCY} at once`, unit: 'ops/s',
        run: (ctx, round) => timedCalls(OBJECTS, CONCURRENCY, (i) => ctx.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `r${round}/o${i}`, Body: small }))),
      },
      {
        name: `gateway GET ${OBJECTS} x 4 KiB, ${CONCURRENCY} at once`, unit: 'ops/s',
        run: (ctx, round) => timedCalls(OBJECTS, CONCURRENCY, async (i) => (await ctx.client.send(new GetObjectCommand({ Bucket: 'bench', Key: `r${round}/o${i}` }))).Body!.transformToByteArray()),
      },
      {
        name: 'gateway PUT+GET 64 MiB object', unit: 'MiB/s',
        async run(ctx, round) {
          const r = await timedCalls(1, 1, async () => {
            await ctx.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `big${round}`, Body: large }));
            await (await ctx.client.send(new GetObjectCommand({ Bucket: 'bench', Key: `big${round}` }))).Body!.transformToByteArray();
          });
          return { rate: 128 / r.seconds, latencies: r.latencies };
        },
      },
    ],
  };
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'strata-bench-metrics-'));
  const rows: Row[] = [];
  const results = new Map<Workload<never>, Record<Mode, Round[]>>();
  try {
    const suites = [await fuseSuite(dir), await gatewaySuite(dir)] as Suite<unknown>[];
    for (const suite of suites) suite.workloads = suite.workloads.filter((w) => !ONLY || ONLY.test(w.name));
    const count = suites.reduce((n, s) => n + s.workloads.length, 0);
    const bar = progressBar('metrics on vs off', count * ROUNDS * 2);
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
        for (const suite of suites) {
          if (suite.workloads.length === 0) continue;
          const ctx = await suite.start(mode);
          try {
            for (const w of suite.workloads) {
              if (!results.has(w)) results.set(w, { on: [], off: [] });
              results.get(w)![mode].push(await w.run(ctx, round));
              bar.tick();
            }
          } finally {
            await suite.stop(ctx);
          }
        }
      }
    }
    bar.stop();
    for (const [w, r] of results) {
      const rate = (m: Mode) => median(r[m].map((x) => x.rate));
      const lat = (m: Mode) => median(r[m].map((x) => p50(x.latencies)));
      rows.push({ workload: w.name, unit: w.unit, 'metrics on': rate('on'), 'metrics off': rate('off'), 'on/off': rate('on') / rate('off'), target: '>= 0.97', status: rate('on') / rate('off') >= 0.97 ? 'met' : 'missed' });
      rows.push({ workload: `${w.name}: p50 per call`, unit: 'ms', 'metrics on': lat('on'), 'metrics off': lat('off'), 'on/off': lat('on') / lat('off'), target: '<= 1.05', status: lat('on') / lat('off') <= 1.05 ? 'met' : 'missed' });
    }
  } finally {
    // Mounts unmount and flush on SIGTERM; only then can their directories go.
    for (const c of started) await c.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
  printTable(`Cost of metrics: the same workloads with metrics on and off (STRATA_METRICS=off), median of ${ROUNDS} alternating rounds, each in fresh processes`, rows);
  const file = await writeJson(ROOT, 'metrics', { when: new Date().toISOString(), rounds: ROUNDS, files: FILES, objects: OBJECTS, seqMib: SEQ_MIB, rows });
  console.log(`results: ${file}`);
}

await main();
