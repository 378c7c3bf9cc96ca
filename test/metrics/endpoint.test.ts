// /metrics of real processes under a short workload, read by the Prometheus project's own parser:
// a FUSE mount on S3 (s3rver behind a link that adds 40 ms each way) in a cache group with a
// cache server, and an S3 gateway. Every metric the observability issue names must be there with
// values that agree with the workload; the slowed store's latency must land in the right buckets;
// a cache directory that fails must show in blockcache_errors_total.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from '../../bench/delay-proxy.js';
import { startCacheMember, type CacheMember } from '../../bench/cache-members.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { Volume } from '../../src/index.js';
import { LATENCY_BUCKETS } from '../../src/metrics/registry.js';
import { CLI, isMounted, mountAgain } from '../fuse/mounted.js';
import { histogram, prometheusParserNeed, scrape, value, type Scrape } from '../helpers/prometheus.js';
import { need } from '../helpers/require.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const fuse = need('FUSE', fuseUnavailable());
const DELAY_MS = 40;
const FILES = 12;
const FILE_BYTES = 100_000;

/** The bound of the bucket that holds quantile q (the smallest bound whose count reaches it). */
function bucketOf(h: { count: number; le: Map<number, number> }, q: number): number {
  for (const b of [...LATENCY_BUCKETS, Infinity]) if ((h.le.get(b) ?? 0) >= q * h.count) return b;
  return Infinity;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function metricsUrl(log: string): string {
  const m = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(log);
  if (!m) throw new Error(`the process did not say where its metrics are:\n${log}`);
  return m[1];
}

describe('metrics of a FUSE mount', () => {
  let dir: string;
  let metaUrl: string;
  let s3: RunningS3rver;
  let link: DelayProxy;
  let member: CacheMember;
  let mount: Awaited<ReturnType<typeof mountAgain>>;
  let mnt: string;
  let cacheDir: string;
  let memberMetrics: number;

  beforeAll(async () => {
    fuse.check();
    prometheusParserNeed.check();
    dir = await fs.mkdtemp(join(tmpdir(), 'strata-metrics-'));
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    s3 = await startS3rver({ buckets: ['metrics'] });
    link = await startDelayProxy({ targetPort: s3.port, delayMs: DELAY_MS });
    await Volume.format(metaUrl, { name: 'metered', storage: `http://127.0.0.1:${link.port}/metrics`, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, blockSize: 64 * 1024, trashDays: 0 });
    memberMetrics = await freePort();
    member = await startCacheMember({ metaUrl, group: 'watch', cacheDir: join(dir, 'member-cache'), args: ['--metrics', `127.0.0.1:${memberMetrics}`] });
    mnt = join(dir, 'mnt');
    cacheDir = join(dir, 'cache');
    mount = await mountAgain(metaUrl, mnt, ['--metrics', '127.0.0.1:0', '--cache-dir', cacheDir, '--cache-group', 'watch', '--group-listen', '127.0.0.1:0', '--group-heartbeat', '0.2']);
  }, 90_000);

  afterAll(async () => {
    if (mount) expect(await mount.stop(), mount.log()).toBe(0);
    await member?.stop();
    await link?.stop();
    await s3?.stop();
    if (mnt && await isMounted(mnt)) spawnSync('fusermount3', ['-u', '-z', mnt]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves every layer\'s metrics with values that match the workload', async () => {
    const url = metricsUrl(mount.log());
    const before = await scrape(url);
    const volume = { volume: 'metered' };
    const data = Buffer.alloc(FILE_BYTES, 7);
    await fs.mkdir(join(mnt, 'ds'));
    for (let i = 0; i < FILES; i++) await fs.writeFile(join(mnt, 'ds', `f${i}`), data);
    // Reads come from the volume, not the kernel's page cache.
    await fs.writeFile('/proc/sys/vm/drop_caches', '3');
    for (let i = 0; i < FILES; i++) expect((await fs.readFile(join(mnt, 'ds', `f${i}`))).equals(data)).toBe(true);
    const after = await scrape(url);

    // FUSE: every op the workload made, counted and timed.
    for (const op of ['mkdir', 'create', 'write', 'flush', 'lookup', 'open', 'read']) {
      expect(histogram(after, 'strata_fuse_op_seconds', { ...volume, op }).count, op).toBeGreaterThan(histogram(before, 'strata_fuse_op_seconds', { ...volume, op }).count);
    }
    expect(histogram(after, 'strata_fuse_op_seconds', { ...volume, op: 'create' }).count - histogram(before, 'strata_fuse_op_seconds', { ...volume, op: 'create' }).count).toBe(FILES);
    expect(value(after, 'strata_fuse_requests_in_flight', volume)).toBeGreaterThanOrEqual(0);
    // Bytes by entrypoint: exactly what was written, at least what was read.
    expect(value(after, 'strata_write_bytes_total', { ...volume, entrypoint: 'fuse' }) - value(before, 'strata_write_bytes_total', { ...volume, entrypoint: 'fuse' })).toBe(FILES * FILE_BYTES);
    expect(value(after, 'strata_read_bytes_total', { ...volume, entrypoint: 'fuse' }) - value(before, 'strata_read_bytes_total', { ...volume, entrypoint: 'fuse' })).toBeGreaterThanOrEqual(FILES * FILE_BYTES);
    // Metadata, by call and engine.
    for (const call of ['mknod', 'commitSlice', 'lookup', 'getattr']) {
      expect(histogram(after, 'strata_meta_call_seconds', { ...volume, engine: 'sqlite', call }).count, call).toBeGreaterThan(0);
    }
    // The store: every file's block went up through the slowed link. A PUT takes at least two
    // crossings of it (request, answer): none is faster than 2 x 40 ms's bucket, and P99 lands
    // above 50 ms and within a second.
    const put = histogram(after, 'strata_object_request_seconds', { ...volume, backend: 's3', op: 'put' });
    expect(put.count).toBeGreaterThanOrEqual(FILES);
    expect(put.le.get(0.05), 'PUTs faster than the link allows').toBe(0);
    expect(bucketOf(put, 0.99)).toBeGreaterThan(0.05);
    expect(bucketOf(put, 0.99)).toBeLessThanOrEqual(1);
    expect(value(after, 'strata_object_bytes_total', { ...volume, direction: 'upload' })).toBeGreaterThanOrEqual(FILES * FILE_BYTES);
    // A close waits for its PUT: the FUSE flush's P99 carries the store's latency up a layer.
    expect(bucketOf(histogram(after, 'strata_fuse_op_seconds', { ...volume, op: 'flush' }), 0.99)).toBeGreaterThan(0.05);
    // Caches: the written tails went to the cache disk and to the group's member.
    expect(histogram(after, 'strata_blockcache_seconds', { ...volume, tier: 'local', op: 'write' }).count).toBeGreaterThanOrEqual(FILES);
    expect(value(after, 'strata_blockcache_entries', { ...volume, dir: cacheDir })).toBeGreaterThanOrEqual(FILES);
    // Each file's tail (a partial block) at least; full blocks are cached when read back.
    expect(value(after, 'strata_blockcache_bytes', { ...volume, dir: cacheDir })).toBeGreaterThanOrEqual(FILES * (FILE_BYTES % (64 * 1024)));
    expect(value(after, 'strata_remotecache_peers', volume)).toBe(1);
    const served = value(after, 'strata_blockcache_hits_total', volume) + value(after, 'strata_remotecache_hits_total', volume) + histogram(after, 'strata_object_request_seconds', { ...volume, op: 'get' }).count;
    expect(served).toBeGreaterThanOrEqual(FILES);
    // Levels and totals read at scrape time.
    expect(value(after, 'strata_buffer_size_bytes', volume)).toBeGreaterThan(0);
    expect(value(after, 'strata_buffer_used_bytes', volume)).toBeGreaterThanOrEqual(0);
    expect(value(after, 'strata_sessions', volume)).toBeGreaterThanOrEqual(1);
    expect(value(after, 'strata_checksum_failures_total', volume)).toBe(0);
    for (const name of ['strata_memcache_bytes', 'strata_memcache_hits_total', 'strata_memcache_misses_total', 'strata_readahead_hits_total', 'strata_readahead_wasted_bytes_total',
      'strata_uploads_pending', 'strata_blockcache_misses_total', 'strata_remotecache_misses_total', 'strata_remotecache_errors_total', 'strata_blockcache_errors_total']) {
      expect(value(after, name, volume), name).toBeGreaterThanOrEqual(0);
    }
    // The process itself.
    expect(value(after, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    // No label carries a secret.
    const text = await (await fetch(url)).text();
    expect(text).not.toContain(S3RVER_SECRET_KEY);
    // The cache server serves its own: the blocks the mount sent it were written to its disk.
    const memberUrl = `http://127.0.0.1:${memberMetrics}/metrics`;
    await expect.poll(async () => histogram(await scrape(memberUrl), 'strata_blockcache_seconds', { ...volume, tier: 'local', op: 'write' }).count, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(value(await scrape(memberUrl), 'strata_blockcache_entries', { ...volume, dir: join(dir, 'member-cache') })).toBeGreaterThan(0);
  }, 120_000);

  it('counts a failing cache directory in blockcache_errors_total, per directory', async () => {
    const url = metricsUrl(mount.log());
    const errors = async () => value(await scrape(url), 'strata_blockcache_errors_total', { volume: 'metered', dir: cacheDir });
    const before = await errors();
    // The disk under the cache goes bad: its block directory is no longer a directory.
    const [volumeDir] = await fs.readdir(cacheDir);
    const raw = join(cacheDir, volumeDir, 'raw');
    await fs.rm(raw, { recursive: true, force: true });
    await fs.writeFile(raw, 'not a directory');
    const data = Buffer.alloc(FILE_BYTES, 9);
    await fs.writeFile(join(mnt, 'after-failure'), data);
    await fs.writeFile('/proc/sys/vm/drop_caches', '3');
    // Reads and writes still work: a failing cache falls back to the store.
    expect((await fs.readFile(join(mnt, 'after-failure'))).equals(data)).toBe(true);
    await expect.poll(errors, { timeout: 10_000 }).toBeGreaterThan(before);
  }, 60_000);

  it('strata stats shows P50/P95/P99 per layer in a terminal, and per op with --verbose', async () => {
    const tmux = need('tmux', spawnSync('tmux', ['-V']).status === 0 ? null : 'tmux (apt-get install tmux)');
    tmux.check();
    const session = `strata-stats-${process.pid}`;
    // The pane stays after stats ends (sleep), so what it printed can be read.
    const command = `'${process.execPath}' '${CLI}' stats '${mnt}' --count 3 --verbose; sleep 30`;
    const started = spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', command]);
    expect(started.status, started.stderr?.toString()).toBe(0);
    try {
      // Writes keep the mount busy until stats has printed a sample with its busiest ops (or 30 s
      // went by): its start-up alone can take seconds on a loaded machine.
      const capture = () => spawnSync('tmux', ['capture-pane', '-p', '-S', '-500', '-t', session], { encoding: 'utf8' }).stdout;
      const stop = Date.now() + 30_000;
      let n = 0;
      let pane = '';
      while (Date.now() < stop) {
        for (let k = 0; k < 20; k++) await fs.writeFile(join(mnt, `busy${n++ % 20}`), 'x');
        pane = capture();
        if (/fuse\.(create|open|write)(\s+[\d.]+){4}/.test(pane) && /meta\.\w+(\s+[\d.]+){4}/.test(pane)) break;
      }
      expect(pane).toMatch(/fuse \(ms\)/);
      expect(pane).toMatch(/meta \(ms\)/);
      expect(pane).toMatch(/object \(ms\)/);
      expect(pane).toMatch(/ops\/s\s+p50\s+p95\s+p99/);
      // A sample row: the time, then numbers (rates and latencies) in every column group.
      const rows = pane.split('\n').filter((l) => /^\d\d:\d\d:\d\d\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+/.test(l));
      expect(rows.length, pane).toBeGreaterThanOrEqual(1);
      // --verbose: the busiest ops of the interval with their own percentiles.
      expect(pane).toMatch(/fuse\.(create|open|write)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
      expect(pane).toMatch(/meta\.\w+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 60_000);
});

describe('metrics of an S3 gateway', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('times every request by S3 operation and status, and counts the bytes it moved', async () => {
    prometheusParserNeed.check();
    dir = await fs.mkdtemp(join(tmpdir(), 'strata-metrics-gw-'));
    const metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'gwmetered', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
    const env = { ...process.env, STRATA_GATEWAY_ACCESS_KEY: 'METRICSKEY', STRATA_GATEWAY_SECRET_KEY: 'metrics-secret-key' };
    child = spawn(process.execPath, [CLI, 'gateway', metaUrl, '127.0.0.1:0', '--metrics', '127.0.0.1:0'], { env });
    let out = '';
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const endpoint = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /over S3 at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child!.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
    });
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'METRICSKEY', secretAccessKey: 'metrics-secret-key' } });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'obs' }));
      const body = Buffer.alloc(50_000, 3);
      for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'obs', Key: `k${i}`, Body: body }));
      for (let i = 0; i < 5; i++) await (await s3.send(new GetObjectCommand({ Bucket: 'obs', Key: `k${i}` }))).Body!.transformToByteArray();
      await s3.send(new HeadObjectCommand({ Bucket: 'obs', Key: 'k0' }));
      await s3.send(new ListObjectsV2Command({ Bucket: 'obs' }));
      await expect(s3.send(new GetObjectCommand({ Bucket: 'obs', Key: 'absent' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
      const m: Scrape = await scrape(metricsUrl(out));
      const volume = { volume: 'gwmetered' };
      const count = (operation: string, status: string) => histogram(m, 'strata_gateway_request_seconds', { ...volume, operation, status }).count;
      expect(count('CreateBucket', '200')).toBe(1);
      expect(count('PutObject', '200')).toBe(5);
      expect(count('GetObject', '200')).toBe(5);
      expect(count('GetObject', '404')).toBe(1);
      expect(count('HeadObject', '200')).toBe(1);
      expect(count('ListObjectsV2', '200')).toBe(1);
      expect(value(m, 'strata_write_bytes_total', { ...volume, entrypoint: 'gateway' })).toBeGreaterThanOrEqual(5 * 50_000);
      expect(value(m, 'strata_read_bytes_total', { ...volume, entrypoint: 'gateway' })).toBeGreaterThanOrEqual(5 * 50_000);
      expect(histogram(m, 'strata_object_request_seconds', { ...volume, backend: 'file', op: 'put' }).count).toBeGreaterThanOrEqual(5);
      expect(histogram(m, 'strata_meta_call_seconds', { ...volume, engine: 'sqlite' }).count).toBeGreaterThan(0);
      // The gateway's two clients of the volume are one volume's sessions, not counted twice.
      expect(value(m, 'strata_sessions', volume)).toBe(2);
    } finally {
      s3.destroy();
    }
  }, 60_000);

  it('refuses a bad or taken --metrics address before serving anything', async () => {
    const env = { ...process.env, STRATA_GATEWAY_ACCESS_KEY: 'METRICSKEY', STRATA_GATEWAY_SECRET_KEY: 'metrics-secret-key' };
    const bad = spawnSync(process.execPath, [CLI, 'gateway', 'sqlite3:///nonexistent/meta.db', '127.0.0.1:0', '--metrics', 'nowhere'], { encoding: 'utf8', env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--metrics must be HOST:PORT/);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const busy = spawnSync(process.execPath, [CLI, 'gateway', 'sqlite3:///nonexistent/meta.db', '127.0.0.1:0', '--metrics', `127.0.0.1:${port}`], { encoding: 'utf8', env });
      expect(busy.status).toBe(2);
      expect(busy.stderr).toMatch(new RegExp(`cannot serve metrics at 127\\.0\\.0\\.1:${port}: the port is in use`));
      expect(busy.stdout).not.toMatch(/serving/);
    } finally {
      taken.close();
    }
  });
});
