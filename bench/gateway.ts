// bench/gateway: the S3 gateway against s3rver on the same machine, and against the SDK writing
// the same bytes directly (what the HTTP layer costs). The HTTP load comes from a child process
// (this file run with --client) so client and server do not share one event loop.
// Run: node dist/bench/gateway.js   (after `npm run build`); writes bench/results/gateway.json.
// Env: BENCH_DIR (parent of the temp dirs, default os.tmpdir()), BENCH_GW_HUGE_MIB (1024: the
//      single huge object; 0 skips it), BENCH_GW_SMALL_COUNT (2000 small objects per run),
//      BENCH_GW_CONCURRENCY (16), BENCH_GW_POLICY_ONLY (1: only the cost of policy evaluation),
//      BENCH_GW_LARGE_ONLY (1: only the large objects), BENCH_GW_ROUNDS (3: rounds of each large-object
//      row; the median is reported).
import { fork, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as nodefs from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Volume } from '../src/index.js';
import { startGateway } from '../src/gateway/server.js';
import { canonicalHeaders, canonicalRequest, signatureOf, signingKey, stringToSign, toAmzDate, uriEncode } from '../src/gateway/sigv4.js';
import { closePool } from '../src/hotpath/pool.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { median, printTable, progressBar, writeJson, type Row, envInt } from './table.js';
import { checkCurl, curlTransfer, makeUploadFile } from './curl-s3.js';

const MiB = 1024 * 1024;
const SMALL = 4096;


const HUGE_MIB = envInt('BENCH_GW_HUGE_MIB', 1024, 0);
const SMALL_COUNT = envInt('BENCH_GW_SMALL_COUNT', 2000);
const CONCURRENCY = envInt('BENCH_GW_CONCURRENCY', 16);
const POLICY_ONLY = process.env.BENCH_GW_POLICY_ONLY === '1';
const LARGE_ONLY = process.env.BENCH_GW_LARGE_ONLY === '1';
const ROUNDS = envInt('BENCH_GW_ROUNDS', 3);
const POLICY_USERS = 50;
const POLICIES_PER_USER = 20;

// ---------------------------------------------------------------------------------------------
// The load generator (child process): signed HTTP requests over keep-alive connections.

interface Target { url: string; accessKey: string; secretKey: string; bucket: string }
type Op = 'put' | 'get' | 'head' | 'delete';
interface Job { target: Target; op: Op; keys: string[]; size: number; concurrency: number }

function signed(t: Target, method: string, path: string, extra: Record<string, string>): Record<string, string> {
  const u = new URL(t.url);
  const amzDate = toAmzDate(Date.now());
  const day = amzDate.slice(0, 8);
  // Bodies go unsigned, as the SDKs send them over TLS: the server still computes the MD5.
  const headers: Record<string, string> = { ...extra, host: u.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
  const names = Object.keys(headers).sort();
  const raw = names.flatMap((n) => [n, headers[n]]);
  const canonical = canonicalRequest(method, path, '', canonicalHeaders(raw, names) as string, names.join(';'), 'UNSIGNED-PAYLOAD');
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const sig = signatureOf(signingKey(t.secretKey, day, 'us-east-1', 's3'), stringToSign(amzDate, scope, canonical));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${t.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  return headers;
}

async function runJob(job: Job): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const u = new URL(job.target.url);
  const piece = Buffer.alloc(Math.min(job.size, 4 * MiB));
  randomFillSync(piece);
  const one = (key: string): Promise<void> => {
    const path = `/${job.target.bucket}/${uriEncode(key, true)}`;
    const method = job.op === 'put' ? 'PUT' : job.op === 'get' ? 'GET' : job.op === 'head' ? 'HEAD' : 'DELETE';
    const headers = signed(job.target, method, path, job.op === 'put' ? { 'content-length': String(job.size), 'content-type': 'application/octet-stream' } : {});
    return new Promise<void>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method, path, headers, agent }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => { got += c.length; });
        res.on('end', () => {
          const ok = method === 'DELETE' ? res.statusCode === 204 || res.statusCode === 200 : res.statusCode === 200;
          if (!ok) return reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`));
          if (job.op === 'get' && got !== job.size) return reject(new Error(`GET ${path}: ${got} bytes, expected ${job.size}`));
          resolve();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (job.op !== 'put') {
        req.end();
        return;
      }
      // Large bodies go out piece by piece, honouring backpressure.
      let sent = 0;
      const pump = () => {
        while (sent < job.size) {
          const n = Math.min(piece.length, job.size - sent);
          sent += n;
          if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
  };
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.keys.length) }, async () => {
    while (next < job.keys.length) await one(job.keys[next++]);
  }));
  const ms = performance.now() - t;
  agent.destroy();
  return ms;
}

function clientMain(): void {
  process.on('message', (job: Job) => {
    runJob(job).then((ms) => process.send!({ ms }), (err: Error) => process.send!({ error: err.message }));
  });
}

// ---------------------------------------------------------------------------------------------
// The driver.

class Client {
  readonly #child: ChildProcess;
  constructor() {
    this.#child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  run(job: Job): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#child.once('message', (m: { ms?: number; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.ms as number)));
      this.#child.send(job);
    });
  }
  close(): void {
    this.#child.kill();
  }
}

const mibps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const opsps = (n: number, ms: number) => n / (ms / 1000);
const met = (ok: boolean) => (ok ? 'met' : 'missed');

interface Side { name: string; target: Target | null }

/** The SDK doing the same work in-process: whole-object writes and reads of the same sizes. */
async function sdkLarge(vol: Volume, op: 'put' | 'get', keys: string[], size: number, concurrency: number): Promise<number> {
  const piece = Buffer.alloc(Math.min(size, 4 * MiB));
  randomFillSync(piece);
  const one = async (key: string) => {
    const p = `/sdk/${key}`;
    if (op === 'put') {
      const fh = await vol.open(p, 'w');
      try {
        for (let at = 0; at < size; at += piece.length) await fh.write(piece, 0, Math.min(piece.length, size - at), at);
      } finally {
        await fh.close();
      }
    } else {
      const fh = await vol.open(p, 'r');
      const buf = Buffer.allocUnsafe(piece.length);
      try {
        let at = 0;
        while (at < size) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
          if (bytesRead === 0) throw new Error(`${p}: short read at ${at}`);
          at += bytesRead;
        }
      } finally {
        await fh.close();
      }
    }
  };
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, async () => {
    while (next < keys.length) await one(keys[next++]);
  }));
  return performance.now() - t;
}

async function sdkSmall(vol: Volume, op: Op, keys: string[], concurrency: number): Promise<number> {
  const data = Buffer.alloc(SMALL);
  randomFillSync(data);
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < keys.length) {
      const p = `/sdk/${keys[next++]}`;
      if (op === 'put') await vol.writeFile(p, data);
      else if (op === 'get') await vol.readFile(p);
      else if (op === 'head') await vol.stat(p);
      else await vol.unlink(p);
    }
  }));
  return performance.now() - t;
}

async function makeBucket(t: Target): Promise<void> {
  const u = new URL(t.url);
  const path = `/${t.bucket}`;
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'PUT', path, headers: signed(t, 'PUT', path, { 'content-length': '0' }) }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`create bucket on ${t.url}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The identities of the policy-cost run: POLICY_USERS users with POLICIES_PER_USER inline policies
 * of five statements each (conditions, wildcards, other buckets), one of which grants the bench
 * bucket, and a bucket policy on it; returns the keys of one of the users.
 */
async function makePolicyUsers(gw: Awaited<ReturnType<typeof startGateway>>, bucket: string): Promise<{ accessKey: string; secretKey: string }> {
  const store = gw.core.iam;
  let chosen: { accessKey: string; secretKey: string } | null = null;
  for (let u = 0; u < POLICY_USERS; u++) {
    const name = `user${u}`;
    await store.createUser(name);
    const key = await store.createAccessKey(name);
    for (let p = 0; p < POLICIES_PER_USER; p++) {
      const statements: object[] = [
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::data-${u}-${p}`, `arn:aws:s3:::data-${u}-${p}/*`] },
        { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::home/\${aws:username}/${p}/*`, Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '127.0.0.0/8'] } } },
        { Effect: 'Deny', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::archive-${p}/*` },
        { Effect: 'Allow', NotAction: ['iam:*', 'sts:*'], Resource: `arn:aws:s3:::scratch-${u}/${p}/*`, Condition: { StringLike: { 's3:prefix': ['a*', 'b*'] } } },
        { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:username': 'nobody' } } },
      ];
      if (p === POLICIES_PER_USER - 1) statements[0] = { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${bucket}/*` };
      await store.setInline('user', name, `p${p}`, JSON.stringify({ Version: '2012-10-17', Statement: statements }));
    }
    if (u === POLICY_USERS - 1) chosen = { accessKey: key.accessKey, secretKey: key.secretKey };
  }
  await gw.core.bucketAccess.update(bucket, (r) => ({
    ...r,
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${bucket}` },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${store.account}:user/user0` }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/shared/*` },
      ],
    }),
  }));
  return chosen!;
}

/** Small-object ops/s as root and as an IAM user with many policies, on the same gateway and bucket. */
async function policyCost(gw: Awaited<ReturnType<typeof startGateway>>, client: Client, root: Target): Promise<Row[]> {
  const user = await makePolicyUsers(gw, root.bucket);
  const asUser: Target = { ...root, accessKey: user.accessKey, secretKey: user.secretKey };
  const rows: Row[] = [];
  const steps = progressBar('bench/gateway policy cost', 4 * 8);
  for (const op of ['put', 'get', 'head', 'delete'] as const) {
    const rates: Record<string, number> = {};
    // Alternate who goes first (ABBA, twice), so drift on a noisy machine hits both sides alike.
    for (const [round, who] of [[0, 'root'], [0, 'user'], [1, 'user'], [1, 'root'], [2, 'root'], [2, 'user'], [3, 'user'], [3, 'root']] as const) {
      // The same keys in every op, so get/head/delete find what put made.
      const keys = Array.from({ length: SMALL_COUNT }, (_, i) => `policy-${who}-${round}-k${i}`);
      const ms = await client.run({ target: who === 'root' ? root : asUser, op, keys, size: op === 'put' || op === 'get' ? SMALL : 0, concurrency: CONCURRENCY });
      rates[who] = (rates[who] ?? 0) + opsps(SMALL_COUNT, ms) / 4;
      steps.tick();
    }
    rows.push({
      operation: `${op.toUpperCase()} 4 KiB, ${CONCURRENCY} clients`, 'root ops/s': rates.root, 'IAM user ops/s': rates.user,
      'user/root': rates.user / rates.root, target: '>= 0.9x root', status: met(rates.user / rates.root >= 0.9),
    });
  }
  steps.stop();
  return rows;
}

async function main(): Promise<void> {
  // Before anything is started that would need stopping.
  if (!POLICY_ONLY) checkCurl();
  const parent = process.env.BENCH_DIR || tmpdir();
  const root = await nodefs.mkdtemp(join(parent, 'strata-bench-gw-'));
  const metaUrl = `sqlite3://${join(root, 'vol', 'meta.db')}`;
  await nodefs.mkdir(join(root, 'vol'));
  await nodefs.mkdir(join(root, 's3rver'));
  await Volume.format(metaUrl, { name: 'bench', storage: `file://${join(root, 'vol', 'data')}`, trashDays: 0 });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const vol = await Volume.open(metaUrl, { skipTrash: isRoot, reclaimMs: 500 });
  await vol.mkdir('/sdk/big', { recursive: true });
  const gw = await startGateway({ metaUrl, accessKey: 'BENCHKEY', secretKey: 'bench-secret-key', log: (m) => console.error(`gateway: ${m}`) });
  const s3rverName = 's3rver';
  const { default: S3rver } = (await import(s3rverName)) as { default: new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> } };
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3rver') });
  const s3rverPort = (await s3rver.run()).port;
  const client = new Client();
  const sides: Side[] = [
    { name: 'gateway', target: { url: gw.url, accessKey: 'BENCHKEY', secretKey: 'bench-secret-key', bucket: 'bench' } },
    { name: 's3rver', target: { url: `http://127.0.0.1:${s3rverPort}`, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket: 'bench' } },
    { name: 'SDK', target: null },
  ];
  for (const s of sides) if (s.target) await makeBucket(s.target);
  if (POLICY_ONLY) {
    try {
      console.log(`bench/gateway policy cost: ${POLICY_USERS} users x ${POLICIES_PER_USER} policies (5 statements each) and a bucket policy; ${SMALL_COUNT} x 4 KiB per run, ${CONCURRENCY} clients`);
      const rows = await policyCost(gw, client, sides[0]!.target!);
      printTable('Cost of policy evaluation: small objects as an IAM user vs root, ops/s', rows);
      const file = await writeJson(packageRoot(), 'gateway-policy', { when: new Date().toISOString(), users: POLICY_USERS, policiesPerUser: POLICIES_PER_USER, smallCount: SMALL_COUNT, concurrency: CONCURRENCY, rows });
      const missed = rows.filter((r) => r.status === 'missed').length;
      console.log(`\nsummary: ${rows.length - missed}/${rows.length} targets met. JSON: ${file}`);
    } finally {
      client.close();
      await s3rver.close().catch(() => undefined);
      await gw.close().catch(() => undefined);
      await vol.close().catch(() => undefined);
      await closePool();
      await nodefs.rm(root, { recursive: true, force: true });
    }
    return;
  }

  const large: { label: string; size: number; count: number }[] = [
    { label: '1 MiB', size: MiB, count: 64 },
    { label: '64 MiB', size: 64 * MiB, count: 4 },
  ];
  if (HUGE_MIB > 0) large.push({ label: `${HUGE_MIB} MiB`, size: HUGE_MIB * MiB, count: 1 });
  // Upload sources in memory where a tmpfs has room, so the disk's writeback stays out of the PUTs.
  const sourceBytes = large.reduce((sum, l) => sum + l.size, 0);
  const shm = await nodefs.statfs('/dev/shm').catch(() => null);
  const sourceDir = join(shm && shm.bavail * shm.bsize > sourceBytes * 1.25 ? '/dev/shm' : root, `strata-bench-gw-src-${process.pid}`);
  const sourceOf = (size: number) => join(sourceDir, `${size}.bin`);
  const steps = progressBar('bench/gateway', (large.length * 2 * 2 * ROUNDS + (LARGE_ONLY ? 0 : 4 * 2)) * sides.length);
  console.log(`bench/gateway: ${root} (one volume: SQLite + file:// objects; s3rver on the same disk; large objects moved by curl, small ones by a Node client in a child process)`);
  console.log(`objects: ${large.map((l) => `${l.count} x ${l.label}`).join(', ')}; ${SMALL_COUNT} x 4 KiB; concurrency 1 and ${CONCURRENCY}`);

  try {
    await nodefs.mkdir(sourceDir, { mode: 0o700 });
    for (const l of large) await makeUploadFile(sourceOf(l.size), l.size);
    const results: Record<string, Record<string, number>> = {};
    for (const s of sides) results[s.name] = {};
    for (const l of large) {
      for (const conc of [1, CONCURRENCY]) {
        // Concurrent runs get as many objects as clients (at least the listed count).
        const count = conc === 1 ? l.count : Math.max(l.count, l.size >= 256 * MiB ? 2 : conc);
        const keys = Array.from({ length: count }, (_, i) => `big/${l.label.replace(' ', '')}-${conc}-${i}`);
        const bytes = count * l.size;
        // Rounds alternate the sides' order (ABC, CBA, ...) and each side reports its median:
        // one run of a side swings by a third on this kind of machine.
        const runs: Record<string, { put: number[]; get: number[] }> = {};
        for (const s of sides) runs[s.name] = { put: [], get: [] };
        for (let round = 0; round < ROUNDS; round++) {
          for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
            const put = s.target ? await curlTransfer(s.target, 'put', keys, l.size, conc, sourceOf(l.size)) : await sdkLarge(vol, 'put', keys, l.size, conc);
            steps.tick();
            const get = s.target ? await curlTransfer(s.target, 'get', keys, l.size, conc, '') : await sdkLarge(vol, 'get', keys, l.size, conc);
            steps.tick();
            if (s.target) await client.run({ target: s.target, op: 'delete', keys, size: 0, concurrency: 1 });
            else for (const k of keys) await vol.unlink(`/sdk/${k}`);
            runs[s.name].put.push(mibps(bytes, put));
            runs[s.name].get.push(mibps(bytes, get));
          }
        }
        for (const s of sides) {
          results[s.name][`put ${l.label} x${conc}`] = median(runs[s.name].put);
          results[s.name][`get ${l.label} x${conc}`] = median(runs[s.name].get);
        }
      }
    }
    for (const conc of LARGE_ONLY ? [] : [1, CONCURRENCY]) {
      // Flat keys: s3rver's concurrent deletes race on removing shared parent directories.
      const keys = Array.from({ length: SMALL_COUNT }, (_, i) => `small-${conc}-k${i}`);
      for (const s of sides) {
        for (const op of ['put', 'get', 'head', 'delete'] as const) {
          const ms = s.target ? await client.run({ target: s.target, op, keys, size: op === 'put' || op === 'get' ? SMALL : 0, concurrency: conc }) : await sdkSmall(vol, op, keys, conc);
          results[s.name][`${op} 4KiB x${conc}`] = opsps(SMALL_COUNT, ms);
          steps.tick();
        }
      }
    }
    steps.stop();

    const largeRows: Row[] = [];
    for (const l of large) {
      for (const conc of [1, CONCURRENCY]) {
        for (const op of ['put', 'get'] as const) {
          const key = `${op} ${l.label} x${conc}`;
          const g = results.gateway[key];
          const target = op === 'get' ? 0.7 : 0.6;
          largeRows.push({
            workload: `${op.toUpperCase()} ${l.label}, ${conc} client${conc > 1 ? 's' : ''}`, 'gateway MiB/s': g, 's3rver MiB/s': results.s3rver[key], 'SDK MiB/s': results.SDK[key],
            'gw/SDK': g / results.SDK[key], 'gw/s3rver': g / results.s3rver[key], target: `>= ${target}x SDK`, status: met(g / results.SDK[key] >= target),
          });
        }
      }
    }
    const smallRows: Row[] = [];
    for (const conc of LARGE_ONLY ? [] : [1, CONCURRENCY]) {
      for (const op of ['put', 'get', 'head', 'delete'] as const) {
        const key = `${op} 4KiB x${conc}`;
        const g = results.gateway[key];
        smallRows.push({
          operation: `${op.toUpperCase()} 4 KiB, ${conc} client${conc > 1 ? 's' : ''}`, 'gateway ops/s': g, 's3rver ops/s': results.s3rver[key], 'SDK ops/s': results.SDK[key],
          'gw/s3rver': g / results.s3rver[key], 'gw/SDK': g / results.SDK[key], target: '>= 3x s3rver', status: met(g / results.s3rver[key] >= 3),
        });
      }
    }
    // The data-path issue's targets, on the largest object (1 GiB unless BENCH_GW_HUGE_MIB says
    // otherwise): single-stream GET and PUT, and GET by many clients.
    const biggest = large[large.length - 1]!;
    const streamTarget = (op: 'put' | 'get', conc: number, needed: number): Row => {
      const key = `${op} ${biggest.label} x${conc}`;
      const r = results.gateway[key] / results.SDK[key];
      return { target: `${op.toUpperCase()} ${biggest.label}, ${conc} client${conc > 1 ? 's' : ''}, gateway/SDK`, measured: r, needed: `>= ${needed}x`, status: met(r >= needed) };
    };
    const streamRows: Row[] = [streamTarget('get', 1, 0.5), streamTarget('put', 1, 0.6), streamTarget('get', CONCURRENCY, 0.5)];
    const policyRows = LARGE_ONLY ? [] : await policyCost(gw, client, sides[0]!.target!);
    printTable(`Large objects, MiB/s, median of ${ROUNDS} rounds (whole-object PUT and GET; the SDK side writes/reads the same bytes in-process)`, largeRows);
    printTable(`Streaming targets of the data-path issue (${biggest.label})`, streamRows);
    printTable(`Small objects (4 KiB), ops/s (${SMALL_COUNT.toLocaleString('en-US')} objects per run)`, smallRows);
    printTable(`Cost of policy evaluation: ${POLICY_USERS} users x ${POLICIES_PER_USER} policies; small objects as an IAM user vs root, ops/s`, policyRows);
    const file = await writeJson(packageRoot(), 'gateway', {
      when: new Date().toISOString(), dir: root, hugeMib: HUGE_MIB, smallCount: SMALL_COUNT, concurrency: CONCURRENCY, large: largeRows, streaming: streamRows, small: smallRows, policy: policyRows,
    });
    const all = [...largeRows, ...streamRows, ...smallRows, ...policyRows];
    const missed = all.filter((r) => r.status === 'missed').map((r) => String(r.workload ?? r.operation ?? r.target));
    console.log(`\nsummary: ${all.length - missed.length}/${all.length} targets met${missed.length ? `; missed: ${missed.join(', ')}` : ''}. JSON: ${file}`);
  } finally {
    client.close();
    await s3rver.close().catch(() => undefined);
    await gw.close().catch((e: unknown) => console.error('gateway close:', e instanceof Error ? e.message : e));
    await vol.close().catch(() => undefined);
    await closePool();
    await nodefs.rm(root, { recursive: true, force: true });
    await nodefs.rm(sourceDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client')) {
  clientMain();
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
