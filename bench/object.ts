// bench/object: Strata on S3 storage (s3rver on loopback, started here) against the fastest plain
// use of the same store, measured in one run; and, where Debian's s3fs can be mounted on the same
// bucket, the same workload through s3fs.
// Run: npm run bench:object   (after `npm run build`); writes bench/results/object.json.
// Env: BENCH_DIR (parent of the temp dirs, default os.tmpdir()), BENCH_BIG_MIB (1024),
//      BENCH_SMALL_COUNT (2000), BENCH_S3FS_SMALL_COUNT (= BENCH_SMALL_COUNT),
//      BENCH_READ_CONCURRENCY (default: Strata's read-ahead window in blocks),
//      BENCH_WRITE_CONCURRENCY (default: Strata's maxUploads), BENCH_ROUNDS (2: each Strata/baseline
//      pair runs twice, A B then B A, and the mean time counts), BENCH_S3FS (0: skip s3fs),
//      BENCH_S3FS_OPTS (extra s3fs -o options, comma-separated), BENCH_WRITEBACK (0: do not try),
//      BENCH_VERIFY_CACHE (the warm Volume's verifyCacheChecksum: full (default, Strata's), partial, none).
//
// Rows (targets from issue 5):
//  1. cold read: a fresh Volume without a disk cache reads the big file with 1 MiB reads, vs the
//     raw @aws-sdk/client-s3 GETting the same block objects, as many at once as Strata's read-ahead
//     keeps in flight, bodies copied into reused buffers and nothing else (>= 0.8x);
//  2. warm read: a fresh Volume whose cacheDir a first read filled, vs node:fs reading the data of
//     the same cache files with the same concurrency (>= 0.7x);
//  3. write: 1 MiB writes + sync + close through the SDK, vs raw PutObject of as many objects of
//     the same sizes (block + checksum trailer), as many at once as Strata's maxUploads (>= 0.8x);
//  4. 4 KiB files created one at a time with write-back vs without, both with a disk cache (when
//     Volume has `writeback`);
//  5. s3fs on the same bucket: big write, cold big read (after a remount), 4 KiB file creates.
// The raw client gets the transport Strata gives itself (keep-alive pool, no per-request CRCs), so
// the ratios show what Strata's data path costs, not SDK defaults.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import * as nodefs from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Volume, type VolumeOptions } from '../src/index.js';
import { DEFAULT_BLOCK_SIZE, DEFAULT_MAX_READS, DEFAULT_MAX_UPLOADS, DEFAULT_MEMORY_CACHE_SIZE } from '../src/chunk/options.js';
import { closePool } from '../src/hotpath/pool.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY } from '../test/helpers/s3rver.js';
import { startS3rverProcess, type S3rverProcess } from './s3rver-process.js';
import { printTable, writeJson, progressBar, type Row, envInt, type BenchFs } from './table.js';
import { timed, stamp, writeBig, readBig } from './big-files.js';

const MiB = 1024 * 1024;
const IO = MiB;
const SMALL = 4096;
const TRAILER = 8; // the checksum stored after each block (chunk/blocks.ts)
const BUCKET = 'strata-bench';
const VOLUME = 'bench';
const run = promisify(execFile);


const BIG_MIB = envInt('BENCH_BIG_MIB', 1024);
const SMALL_COUNT = envInt('BENCH_SMALL_COUNT', 2000);
const S3FS_SMALL_COUNT = envInt('BENCH_S3FS_SMALL_COUNT', SMALL_COUNT);
// Strata's read-ahead keeps half the verified-block memory in flight (chunk-store.ts), within maxReads.
const STRATA_READ_AHEAD = Math.min(DEFAULT_MAX_READS, Math.max(1, Math.floor(DEFAULT_MEMORY_CACHE_SIZE / 2 / DEFAULT_BLOCK_SIZE)));
const READ_CONCURRENCY = envInt('BENCH_READ_CONCURRENCY', STRATA_READ_AHEAD);
const WRITE_CONCURRENCY = envInt('BENCH_WRITE_CONCURRENCY', DEFAULT_MAX_UPLOADS);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const VERIFY_CACHE = (process.env.BENCH_VERIFY_CACHE || 'full') as NonNullable<VolumeOptions['verifyCacheChecksum']>;
const S3FS_PHASE_TIMEOUT_MS = 5 * 60_000;

type Fs = BenchFs;

const mibps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const opsps = (n: number, ms: number) => n / (ms / 1000);
const met = (ok: boolean) => (ok ? 'met' : 'missed');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];


function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms / 1000} s`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}




async function createSmall(fs: Fs, dir: string, count: number, data: Buffer, onFile: () => void): Promise<number> {
  await fs.mkdir(dir, { recursive: true });
  return timed(async () => {
    for (let i = 0; i < count; i++) {
      await fs.writeFile(join(dir, `f${i}`), data);
      onFile();
    }
  });
}

/** Run `fn` over `items`, at most `concurrency` at once; `slot` (0..concurrency-1) is the worker's. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T, index: number, slot: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async (_, slot) => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i, slot);
    }
  }));
}

interface Block { key: string; length: number }

/** A block key's data length (`.../{id}_{index}_{length}`). */
function blockOf(key: string): Block {
  const length = Number(key.slice(key.lastIndexOf('_') + 1));
  if (!Number.isSafeInteger(length) || length <= 0) throw new Error(`not a block key: ${key}`);
  return { key, length };
}

function rawClient(endpoint: string, sockets: number): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agent = new HttpAgent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  return new S3Client({
    region: 'us-east-1', endpoint, forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
}

/** GET every object (data + trailer) into a reused buffer per slot. */
async function rawGet(client: S3Client, keys: Block[], concurrency: number, onBlock: (b: Block) => void): Promise<void> {
  const longest = Math.max(...keys.map((k) => k.length)) + TRAILER;
  const bufs = Array.from({ length: concurrency }, () => Buffer.allocUnsafe(longest));
  await pool(keys, concurrency, async (b, _i, slot) => {
    const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: b.key }));
    const buf = bufs[slot];
    let n = 0;
    for await (const chunk of res.Body as AsyncIterable<Buffer>) {
      buf.set(chunk, n);
      n += chunk.length;
    }
    if (n !== b.length + TRAILER) throw new Error(`raw GET ${b.key}: ${n} bytes, expected ${b.length + TRAILER}`);
    onBlock(b);
  });
}

/** PUT objects of the given sizes (plus trailer), filled like the big file's blocks. */
async function rawPut(client: S3Client, blocks: Block[], concurrency: number, template: Buffer, tag: number, onBlock: (b: Block) => void): Promise<void> {
  const longest = Math.max(...blocks.map((k) => k.length)) + TRAILER;
  const bufs = Array.from({ length: concurrency }, () => Buffer.alloc(longest));
  let firstMiB = 0;
  const starts = blocks.map((b) => { const s = firstMiB; firstMiB += Math.ceil(b.length / MiB); return s; });
  await pool(blocks, concurrency, async (b, i, slot) => {
    const buf = bufs[slot];
    for (let off = 0, m = starts[i]; off < b.length; off += MiB, m++) {
      const piece = buf.subarray(off, Math.min(off + MiB, b.length));
      template.copy(piece, 0, 0, piece.length);
      if (piece.length >= 8) stamp(piece, m, tag);
    }
    const body = buf.subarray(0, b.length + TRAILER);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: b.key, Body: body, ContentLength: body.length }));
    onBlock(b);
  });
}

/** node:fs reading the data part of each cache file (the checksums follow it), like rawGet. */
async function readCacheFiles(files: { path: string; length: number }[], concurrency: number, onFile: (length: number) => void): Promise<void> {
  const longest = Math.max(...files.map((f) => f.length));
  const bufs = Array.from({ length: concurrency }, () => Buffer.allocUnsafe(longest));
  await pool(files, concurrency, async (f, _i, slot) => {
    const h = await nodefs.open(f.path, 'r');
    try {
      let n = 0;
      while (n < f.length) {
        const { bytesRead } = await h.read(bufs[slot], n, f.length - n, n);
        if (bytesRead === 0) throw new Error(`${f.path}: ends after ${n} of ${f.length} bytes`);
        n += bytesRead;
      }
    } finally {
      await h.close();
    }
    onFile(f.length);
  });
}

/** Files below `dir` (recursively), leaving out a cache's temp files. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await nodefs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && !e.name.includes('.tmp-')).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** Wait until `dir` holds `want` files, or their number stops changing for a second. */
async function settleFiles(dir: string, want: number): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const n = (await listFiles(dir)).length;
    if (n >= want) return n;
    if (n !== last) {
      last = n;
      since = performance.now();
    } else if (performance.now() - since > 1000) {
      return n;
    }
    await sleep(100);
  }
}

/** The chunk store's counters (cache hits, blocks read, ...), when this build exposes them; for
 * the JSON only, to show what each phase really did. */
function storeStats(v: Volume): Record<string, unknown> | undefined {
  try {
    return (v as unknown as { vfs?: { store?: { stats?(): Record<string, unknown> } } }).vfs?.store?.stats?.();
  } catch {
    return undefined;
  }
}

/** Does this build's Volume take a `writeback` option? (Unknown options are ignored, so ask the
 * compiled module; BENCH_WRITEBACK=0 says no.) */
function writebackSupported(): boolean {
  if (process.env.BENCH_WRITEBACK === '0') return false;
  try {
    return /\bwriteback\b/.test(readFileSync(join(packageRoot(), 'dist', 'src', 'sdk', 'volume.js'), 'utf8'));
  } catch {
    return false;
  }
}

// ---- the S3 server: a child process (s3rver-process.ts) ----

type Server = S3rverProcess;

function startServer(): Promise<Server> {
  return startS3rverProcess([BUCKET]);
}

// ---- s3fs ----

function isMounted(mountpoint: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mountpoint);
  } catch {
    return false;
  }
}

async function which(cmd: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** s3fs's path, installing Debian's package when we are root; or why it cannot be used. */
async function findS3fs(): Promise<{ bin?: string; note: string }> {
  if (process.env.BENCH_S3FS === '0') return { note: 's3fs skipped (BENCH_S3FS=0)' };
  if (process.platform !== 'linux') return { note: 's3fs skipped: not Linux' };
  if (!(await nodefs.access('/dev/fuse').then(() => true, () => false))) return { note: 's3fs skipped: no /dev/fuse' };
  let bin = await which('s3fs');
  let note = '';
  if (!bin) {
    if (process.getuid?.() !== 0) return { note: 's3fs skipped: not installed, and installing it (apt-get install s3fs) needs root' };
    process.stderr.write('bench/object: installing s3fs (apt-get install -y s3fs) ...\n');
    try {
      await run('apt-get', ['install', '-y', 's3fs'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000, maxBuffer: 64 * MiB });
    } catch (e) {
      return { note: `s3fs skipped: apt-get install -y s3fs failed: ${errText(e)}` };
    }
    bin = await which('s3fs');
    if (!bin) return { note: 's3fs skipped: installed, but no s3fs command found' };
    note = 'installed with apt-get';
  }
  if (!(await which('fusermount3')) && !(await which('fusermount'))) return { note: 's3fs skipped: no fusermount3/fusermount to unmount it with' };
  const version = (await run(bin, ['--version']).then((r) => r.stdout, () => '')).match(/V\s*([\d.]+)/)?.[1];
  return { bin, note: [version ? `s3fs ${version}` : 's3fs', note].filter(Boolean).join(', ') };
}

/** s3fs in the foreground (-f), as our child: when an unmount leaves it stuck (a request it cannot
 * finish holds a reader in the kernel), killing it by its pid ends the FUSE connection. */
async function mountS3fs(bin: string, mountpoint: string, endpoint: string, passwd: string): Promise<ChildProcess> {
  const extra = (process.env.BENCH_S3FS_OPTS ?? '').split(',').filter(Boolean).flatMap((o) => ['-o', o]);
  const child = spawn(bin, [BUCKET, mountpoint, '-f', '-o', `url=${endpoint}`, '-o', 'use_path_request_style', '-o', `passwd_file=${passwd}`, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  child.on('error', (e) => { stderr += `\n${e.message}`; });
  for (let i = 0; i < 100; i++) {
    if (isMounted(mountpoint)) return child;
    if (child.exitCode !== null || child.signalCode !== null) break;
    await sleep(100);
  }
  await stopS3fs(child, mountpoint);
  const why = stderr.trim().split('\n').slice(-3).join(' / ');
  throw new Error(`s3fs did not mount ${mountpoint} within 10 s${why ? `: ${why}` : ''}`);
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/** Unmount, and make sure the s3fs we started is gone (TERM, then KILL). */
async function stopS3fs(child: ChildProcess, mountpoint: string): Promise<void> {
  const attempts: [string, string[]][] = [
    ['fusermount3', ['-u', mountpoint]], ['fusermount', ['-u', mountpoint]],
    ['fusermount3', ['-u', '-z', mountpoint]], ['fusermount', ['-u', '-z', mountpoint]], ['umount', ['-l', mountpoint]],
  ];
  for (const [cmd, args] of attempts) {
    if (!isMounted(mountpoint)) break;
    await run(cmd, args, { timeout: 30_000 }).catch(() => undefined);
  }
  if (!(await exited(child, 10_000))) {
    child.kill('SIGTERM');
    if (!(await exited(child, 3000))) {
      child.kill('SIGKILL');
      await exited(child, 5000);
    }
  }
  if (isMounted(mountpoint)) throw new Error(`${mountpoint} is still mounted; unmount it by hand (fusermount3 -u ${mountpoint})`);
}

/** Write dirty pages out (sync(1)) so that one phase's writes (the server's objects, the cache's
 * files) are not flushed to disk during the next phase's measurement. */
async function settleDisk(): Promise<void> {
  await run('sync', [], { timeout: 120_000 }).catch(() => undefined);
}

/** Phases by name, for logs where the progress bar is not drawn. */
function phaseLog(): (name: string) => void {
  const t0 = performance.now();
  return process.stderr.isTTY ? () => undefined : (name) => process.stderr.write(`bench/object: [${((performance.now() - t0) / 1000).toFixed(1)} s] ${name}\n`);
}

async function main(): Promise<void> {
  const parent = process.env.BENCH_DIR || tmpdir();
  const root = await nodefs.mkdtemp(join(parent, 'strata-bench-object-'));
  const cleanups: (() => Promise<void>)[] = [async () => { await nodefs.rm(root, { recursive: true, force: true }); }];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', errText(e)));
  })());
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    console.error(`\nbench/object: ${sig}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  // Last resort when the process dies without cleaning up (an uncaught error, a closed stdout):
  // what can be done synchronously. (s3rver's process stops itself when we go.)
  let s3fsLeft: { child: ChildProcess; mountpoint: string } | undefined;
  const onExit = () => {
    if (s3fsLeft && isMounted(s3fsLeft.mountpoint)) {
      try {
        execFileSync('fusermount3', ['-u', '-z', s3fsLeft.mountpoint], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // fusermount3 missing or failed: the kill below ends the mount's connection anyway.
      }
    }
    s3fsLeft?.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const loadBefore = loadavg()[0];
  try {
    const s3fs = await findS3fs();
    const writeback = writebackSupported();
    const server = await startServer();
    cleanups.push(() => server.stop());
    const phase = phaseLog();

    const metaUrl = `sqlite3://${join(root, 'meta.db')}`;
    await Volume.format(metaUrl, { name: VOLUME, storage: `${server.endpoint}/${BUCKET}`, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, trashDays: 0 });
    // No disk cache at all (a volume on S3 would otherwise cache in the default directory).
    const NO_CACHE: VolumeOptions = { cacheDir: null };
    const openVolume = async (o: VolumeOptions) => {
      const v = await Volume.open(metaUrl, o);
      cleanups.push(() => v.close());
      return v;
    };
    const client = rawClient(server.endpoint, 64);
    cleanups.push(async () => client.destroy());

    const bigBytes = BIG_MIB * MiB;
    const template = Buffer.alloc(IO);
    randomFillSync(template);
    const smallData = Buffer.alloc(SMALL);
    randomFillSync(smallData);

    console.log(`bench/object: ${cpus().length} CPUs, load average ${loadBefore.toFixed(1)}${loadBefore >= 1 ? ' (other work on the machine skews the ratios)' : ''}; ${root}; s3rver ${server.endpoint} (own process), bucket ${BUCKET}, volume "${VOLUME}" (block ${DEFAULT_BLOCK_SIZE / MiB} MiB)`);
    console.log(`sizes: big ${BIG_MIB} MiB, ${SMALL_COUNT.toLocaleString('en-US')} small files of 4 KiB (s3fs: ${S3FS_SMALL_COUNT.toLocaleString('en-US')}); ` +
      `raw GETs x${READ_CONCURRENCY} (Strata read-ahead ${STRATA_READ_AHEAD} blocks), raw PUTs x${WRITE_CONCURRENCY} (Strata maxUploads ${DEFAULT_MAX_UPLOADS}); ` +
      `${ROUNDS} round(s) per pair; cache checksums: ${VERIFY_CACHE}; writeback: ${writeback ? 'yes' : 'not available'}; ${s3fs.note}`);

    const total = (6 * ROUNDS + 1) * BIG_MIB + SMALL_COUNT * (writeback ? 2 : 1) + (s3fs.bin ? 2 * BIG_MIB + S3FS_SMALL_COUNT : 0);
    const bar = progressBar('bench/object', total);
    const mibTick = () => bar.tick(1);
    const blockTick = (b: { length: number }) => bar.tick(b.length / MiB);

    const stats: Record<string, Record<string, unknown> | undefined> = {};

    // Each pair runs ROUNDS times, alternating which side goes first (A B, B A, ...), so drift of
    // the shared machine and server over the run falls on both sides alike.
    const pair = async (name: string, a: (round: number) => Promise<number>, b: (round: number) => Promise<number>) => {
      const ms = { a: 0, b: 0 };
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
          phase(`${name}, round ${r + 1}/${ROUNDS}: ${side === 'a' ? 'Strata' : 'baseline'}`);
          await settleDisk();
          ms[side] += await (side === 'a' ? a : b)(r);
        }
      }
      return { a: ms.a / ROUNDS, b: ms.b / ROUNDS };
    };

    // ---- 3. sequential write: Strata vs raw PUTs of as many objects of the same sizes ----
    // Strata writes /big first (its blocks are what every later phase reads), so the raw side
    // learns the block sizes from it.
    const bigPath = (r: number) => (r === 0 ? '/big' : `/big-${r}`);
    let blocks: Block[] = [];
    const write = await pair('write', async (r) => {
      const v = await openVolume(NO_CACHE);
      const ms = await timed(() => writeBig(v as unknown as Fs, bigPath(r), BIG_MIB, 1, mibTick, template));
      if (r === 0) {
        stats.write = storeStats(v);
        const info = await v.info('/big');
        blocks = info.chunks.flatMap((c) => c.slices.flatMap((sl) => sl.keys)).map(blockOf);
      } else {
        await v.unlink(bigPath(r));
      }
      await v.close();
      return ms;
    }, async (r) => {
      if (blocks.length === 0) throw new Error('internal: the raw PUTs ran before Strata wrote /big');
      return timed(() => rawPut(client, blocks.map((b) => ({ key: `raw/${r}/${b.key}`, length: b.length })), WRITE_CONCURRENCY, template, 2, blockTick));
    });
    const stored = blocks.reduce((n, b) => n + b.length, 0);
    if (stored !== bigBytes) throw new Error(`/big: its blocks hold ${stored} bytes, expected ${bigBytes}`);
    const storedBlocks = blocks.map((b) => ({ key: `${VOLUME}/${b.key}`, length: b.length }));

    // ---- 1. cold read: a fresh Volume (empty memory cache) without disk cache, vs raw GETs ----
    const cold = await pair('cold read', async (r) => {
      const v = await openVolume(NO_CACHE);
      const ms = await timed(() => readBig(v as unknown as Fs, '/big', BIG_MIB, 1, mibTick));
      if (r === 0) stats.coldRead = storeStats(v);
      await v.close();
      return ms;
    }, () => timed(() => rawGet(client, storedBlocks, READ_CONCURRENCY, blockTick)));

    // ---- 2. warm read: fill a disk cache, then fresh Volumes over it, vs node:fs on its files ----
    phase('fill the disk cache');
    const cacheDir = join(root, 'cache');
    await nodefs.mkdir(cacheDir);
    const cacheOptions: VolumeOptions = { cacheDir, cacheSize: Math.max(2 * bigBytes, 1024 * MiB), freeSpaceRatio: 0, verifyCacheChecksum: VERIFY_CACHE };
    let cached = 0;
    let fillPasses = 0;
    // A read caches what the cache disk keeps up with (blocks waiting to be written are bounded);
    // read again until every block is there.
    for (; fillPasses < 6 && cached < blocks.length; fillPasses++) {
      const v = await openVolume(cacheOptions);
      await readBig(v as unknown as Fs, '/big', BIG_MIB, 1, fillPasses === 0 ? mibTick : () => undefined);
      cached = await settleFiles(cacheDir, blocks.length);
      await v.close();
    }
    if (cached < blocks.length) throw new Error(`the disk cache holds ${cached} of ${blocks.length} blocks after ${fillPasses} reads`);
    const [ns] = await nodefs.readdir(cacheDir);
    const cacheFiles = blocks.map((b) => ({ path: join(cacheDir, ns, 'raw', b.key), length: b.length }));
    const warm = await pair('warm read', async (r) => {
      const v = await openVolume(cacheOptions);
      const ms = await timed(() => readBig(v as unknown as Fs, '/big', BIG_MIB, 1, mibTick));
      if (r === 0) stats.warmRead = storeStats(v);
      await v.close();
      return ms;
    }, () => timed(() => readCacheFiles(cacheFiles, READ_CONCURRENCY, (n) => bar.tick(n / MiB))));
    const strataWriteMs = write.a;
    const rawPutMs = write.b;
    const coldReadMs = cold.a;
    const rawGetMs = cold.b;
    const warmReadMs = warm.a;
    const fsReadMs = warm.b;

    // ---- 4. small files, with write-back and without ----
    phase('Strata small files');
    await settleDisk();
    // Both with a disk cache (as a volume on S3 has by default), so that only write-back differs.
    const sVol = await openVolume({ cacheDir: join(root, 'small-cache') });
    const smallMs = await createSmall(sVol as unknown as Fs, '/small', SMALL_COUNT, smallData, () => bar.tick());
    await sVol.close();
    let smallWbMs: number | undefined;
    let wbDrainMs: number | undefined;
    if (writeback) {
      phase('Strata small files, writeback');
      const wbVol = await openVolume({ writeback: true, cacheDir: join(root, 'wb-cache') } as VolumeOptions);
      smallWbMs = await createSmall(wbVol as unknown as Fs, '/small-wb', SMALL_COUNT, smallData, () => bar.tick());
      // Closing waits for the staged blocks to be uploaded: not part of the create rate, but shown.
      wbDrainMs = await timed(() => wbVol.close());
    }

    // ---- 5. s3fs on the same bucket ----
    let s3fsResult: { write?: number; read?: number; create?: number; error?: string } | undefined;
    if (s3fs.bin) {
      s3fsResult = {};
      const mnt = join(root, 's3fs');
      const passwd = join(root, 'passwd-s3fs');
      await nodefs.mkdir(mnt);
      await nodefs.writeFile(passwd, `${S3RVER_ACCESS_KEY}:${S3RVER_SECRET_KEY}\n`, { mode: 0o600 });
      let mounted: ChildProcess | undefined;
      const mount = async () => {
        mounted = await mountS3fs(s3fs.bin!, mnt, server.endpoint, passwd);
        s3fsLeft = { child: mounted, mountpoint: mnt };
      };
      const unmountNow = async () => {
        const m = mounted;
        mounted = undefined;
        if (m) await stopS3fs(m, mnt);
        s3fsLeft = undefined;
      };
      cleanups.push(unmountNow);
      const dir = join(mnt, 's3fs-bench');
      // Whatever ran while the mount was gone (an interrupt unmounts it) ran on the local disk.
      const stillMounted = () => {
        if (!isMounted(mnt)) throw new Error(`s3fs is no longer mounted at ${mnt}`);
      };
      try {
        phase('s3fs write');
        await settleDisk();
        await mount();
        await nodefs.mkdir(dir);
        const wMs = await withTimeout(timed(() => writeBig(nodefs as unknown as Fs, join(dir, 'big'), BIG_MIB, 3, mibTick, template)), S3FS_PHASE_TIMEOUT_MS, 's3fs write');
        stillMounted();
        s3fsResult.write = mibps(bigBytes, wMs);
        // A fresh mount: nothing of the file in s3fs or the kernel's page cache.
        await unmountNow();
        phase('s3fs read');
        await settleDisk();
        await mount();
        const rMs = await withTimeout(timed(() => readBig(nodefs as unknown as Fs, join(dir, 'big'), BIG_MIB, 3, mibTick)), S3FS_PHASE_TIMEOUT_MS, 's3fs read');
        stillMounted();
        s3fsResult.read = mibps(bigBytes, rMs);
        phase('s3fs small files');
        const cMs = await withTimeout(createSmall(nodefs as unknown as Fs, join(dir, 'small'), S3FS_SMALL_COUNT, smallData, () => bar.tick()), S3FS_PHASE_TIMEOUT_MS, 's3fs small files');
        stillMounted();
        s3fsResult.create = opsps(S3FS_SMALL_COUNT, cMs);
      } catch (e) {
        s3fsResult.error = errText(e);
      } finally {
        await unmountNow();
      }
    }
    bar.stop();
    if (interrupted) throw new Error('interrupted: no results');
    phase('done');

    // ---- the table ----
    const row = (workload: string, unit: string, strata: number | string, base: number | string, target?: number, status?: string): Row => {
      const ratio = typeof strata === 'number' && typeof base === 'number' ? strata / base : '-';
      return {
        workload, Strata: strata, baseline: base, unit, 'Strata/baseline': ratio,
        target: target === undefined ? '' : `>= ${target}x`,
        status: status ?? (target === undefined || typeof ratio !== 'number' ? '' : met(ratio >= target)),
      };
    };
    const smallOps = opsps(SMALL_COUNT, smallMs);
    const rows: Row[] = [
      row(`read ${BIG_MIB} MiB, cold cache vs raw GetObject x${READ_CONCURRENCY}`, 'MiB/s', mibps(bigBytes, coldReadMs), mibps(bigBytes, rawGetMs), 0.8),
      row(`read ${BIG_MIB} MiB, warm disk cache${VERIFY_CACHE === 'full' ? '' : ` (verify ${VERIFY_CACHE})`} vs node:fs on the cache files x${READ_CONCURRENCY}`, 'MiB/s', mibps(bigBytes, warmReadMs), mibps(bigBytes, fsReadMs), 0.7),
      row(`write ${BIG_MIB} MiB vs raw PutObject x${WRITE_CONCURRENCY}`, 'MiB/s', mibps(bigBytes, strataWriteMs), mibps(bigBytes, rawPutMs), 0.8),
      smallWbMs === undefined
        ? row(`create ${SMALL_COUNT.toLocaleString('en-US')} x 4 KiB files, writeback vs without`, 'files/s', 'not available', smallOps, undefined, 'not available')
        : row(`create ${SMALL_COUNT.toLocaleString('en-US')} x 4 KiB files, writeback vs without`, 'files/s', opsps(SMALL_COUNT, smallWbMs), smallOps),
    ];
    printTable('Strata on s3rver (loopback) vs the same store used directly, in one run', rows);
    if (wbDrainMs !== undefined) console.log(`(writeback: closing the volume then uploaded what was staged in ${(wbDrainMs / 1000).toFixed(1)} s; not counted in its rate)`);

    let s3fsRows: Row[] = [];
    if (s3fsResult && s3fsResult.error === undefined) {
      const r = (workload: string, unit: string, strata: number, other: number | undefined): Row =>
        ({ workload, Strata: strata, s3fs: other ?? '-', unit, 'Strata/s3fs': other === undefined ? '-' : strata / other });
      s3fsRows = [
        r(`write ${BIG_MIB} MiB`, 'MiB/s', mibps(bigBytes, strataWriteMs), s3fsResult.write),
        r(`read ${BIG_MIB} MiB, cold`, 'MiB/s', mibps(bigBytes, coldReadMs), s3fsResult.read),
        r('create 4 KiB files', 'files/s', smallOps, s3fsResult.create),
      ];
      printTable(`Strata vs s3fs on the same bucket (${s3fs.note}; issue 5 measured ~40 MiB/s write, ~120 MiB/s read, ~25 creates/s)`, s3fsRows);
    } else {
      const why = s3fsResult?.error !== undefined ? `s3fs failed: ${s3fsResult.error}` : s3fs.note;
      s3fsRows = [{ workload: 's3fs', Strata: '-', s3fs: '-', unit: '', 'Strata/s3fs': why }];
      console.log(`\nStrata vs s3fs: ${why}`);
    }

    const file = await writeJson(packageRoot(), 'object', {
      when: new Date().toISOString(), cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg()[0], dir: root, endpoint: server.endpoint, bigMib: BIG_MIB, smallCount: SMALL_COUNT, s3fsSmallCount: S3FS_SMALL_COUNT,
      rounds: ROUNDS, blockSize: DEFAULT_BLOCK_SIZE, blocks: blocks.length, readConcurrency: READ_CONCURRENCY, strataReadAhead: STRATA_READ_AHEAD,
      writeConcurrency: WRITE_CONCURRENCY, verifyCacheChecksum: VERIFY_CACHE, cacheFillPasses: fillPasses, writeback, s3fs: { ...s3fsResult, note: s3fs.note },
      ms: { strataWrite: strataWriteMs, rawPut: rawPutMs, coldRead: coldReadMs, rawGet: rawGetMs, warmRead: warmReadMs, fsRead: fsReadMs, small: smallMs, smallWriteback: smallWbMs, writebackCloseDrain: wbDrainMs },
      rows, s3fsRows, strataStats: stats,
    });
    const targets = rows.filter((r) => r.status === 'met' || r.status === 'missed');
    const missed = targets.filter((r) => r.status === 'missed').map((r) => String(r.workload).split(' vs ')[0]);
    const x = (r: Row) => (typeof r['Strata/baseline'] === 'number' ? `${r['Strata/baseline'].toFixed(2)}x` : '-');
    const vsS3fs = s3fsRows.length === 3 && typeof s3fsRows[0]['Strata/s3fs'] === 'number'
      ? `; vs s3fs: write ${(s3fsRows[0]['Strata/s3fs'] as number).toFixed(1)}x, read ${(s3fsRows[1]['Strata/s3fs'] as number).toFixed(1)}x, creates ${(s3fsRows[2]['Strata/s3fs'] as number).toFixed(1)}x`
      : `; s3fs: ${String(s3fsRows[0]?.['Strata/s3fs'] ?? 'not run')}`;
    console.log(`\nsummary: ${targets.length - missed.length}/${targets.length} targets met` + (missed.length ? ` (missed: ${missed.join(', ')})` : '') +
      `. Cold read ${x(rows[0])} raw GET, warm read ${x(rows[1])} node:fs, write ${x(rows[2])} raw PUT; ` +
      `writeback ${smallWbMs === undefined ? 'not available' : x(rows[3])}, ${Math.round(smallOps).toLocaleString('en-US')} creates/s without` +
      `${vsS3fs}. JSON: ${file}`);
  } finally {
    await cleanup();
    await closePool();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
