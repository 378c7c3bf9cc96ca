// bench/events: bucket event notifications.
//  1. Events delivered per second to each target kind (Redis, PostgreSQL, MariaDB, a webhook on
//     loopback), draining a queue of EVENTS events from the volume's metadata — the rate a
//     target catches up at after an outage.
//  2. What notifications add to PutObject: the same sequential 4 KiB PUTs through two gateways in
//     this process, one whose bucket sends every event to Redis and one with none, in alternating
//     rounds; p50/p95 latencies and their ratio (target: at most 10% more at p50).
// Run: node dist/bench/events.js (after `npm run build`); writes bench/results/events.json.
// Env: STRATA_BENCH_EVENTS (20000 events per target), STRATA_BENCH_EVENTS_PUTS (400 PUTs per
//      round), STRATA_BENCH_EVENTS_ROUNDS (10).
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventDelivery } from '../src/events/delivery.js';
import { s3EventRecord } from '../src/events/record.js';
import { openTarget } from '../src/events/targets/index.js';
import { parseTargetSpec } from '../src/events/targets/target.js';
import { startGateway, type Gateway } from '../src/gateway/server.js';
import { closePool } from '../src/hotpath/pool.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { openMeta } from '../src/meta/index.js';
import { Volume } from '../src/index.js';
import { testRedis } from '../test/helpers/redis.js';
import { startMariadb, startPostgres } from './servers.js';
import { envInt, printTable, progressBar, writeJson, type Row } from './table.js';

const EVENTS = envInt('STRATA_BENCH_EVENTS', 20_000);
const PUTS = envInt('STRATA_BENCH_EVENTS_PUTS', 400);
const ROUNDS = envInt('STRATA_BENCH_EVENTS_ROUNDS', 10);
const KEY = 'bench';
const SECRET = 'bench-secret-key';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function volumeAt(root: string, name: string): Promise<string> {
  const url = `sqlite3://${join(root, `${name}.db`)}`;
  await Volume.format(url, { name, storage: `file://${join(root, `${name}-objects`)}`, trashDays: 0 });
  return url;
}

/** Queue `n` events for `target` (as a gateway would), then time their delivery. */
async function drain(root: string, spec: string): Promise<{ perSecond: number; seconds: number }> {
  const s = parseTargetSpec(spec);
  const url = await volumeAt(root, `drain-${s.id}`);
  const meta = await openMeta(url);
  try {
    const bar = progressBar(`queueing ${EVENTS} events for ${s.type}:${s.id}`, EVENTS);
    const time = new Date();
    for (let i = 0; i < EVENTS; i += 1000) {
      const part = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => {
        const key = `data/object-${i + j}`;
        const record = s3EventRecord({ name: 's3:ObjectCreated:Put', bucket: 'b', key, size: 4096, etag: 'd41d8cd98f00b204e9800998ecf8427e', time, region: 'us-east-1', principalId: 'bench', sourceIp: '127.0.0.1', requestId: 'r', configurationId: 'c', ownerId: 'o' });
        return { target: s.id, key: `b/${key}`, body: JSON.stringify(record) };
      });
      await meta.queueEvents(part);
      bar.tick(part.length);
    }
    bar.stop();
    const delivery = new EventDelivery({ meta, targets: [openTarget(s)], holder: 'bench', queueMax: EVENTS * 2, log: (m) => console.error(m), pollMs: 20 });
    const t = performance.now();
    delivery.start();
    for (;;) {
      const [stats] = await meta.eventStats();
      if (stats && stats.depth === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t) / 1000;
    await delivery.close();
    return { perSecond: EVENTS / seconds, seconds };
  } finally {
    await meta.close();
  }
}

async function putLatencies(gw: Gateway, bucket: string, n: number): Promise<number[]> {
  const s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
  const body = Buffer.alloc(4096, 1);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `k/${i % 200}`, Body: body }));
      out.push(performance.now() - t);
    }
  } finally {
    s3.destroy();
  }
  return out;
}

async function main(): Promise<void> {
  const root = await fs.mkdtemp(join(process.env.BENCH_DIR || tmpdir(), 'strata-events-'));
  const redisNeed = testRedis();
  redisNeed.check();
  const redis = await redisNeed.start();
  const pg = await startPostgres({ mode: 'bench' });
  const my = await startMariadb({ mode: 'bench' });
  const hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const gateways: Gateway[] = [];
  try {
    await pg.createDatabase('events');
    await my.createDatabase('events');
    const targets: [string, string][] = [
      ['Redis, access (list)', `redis:r=${redis.url(0)}?format=access`],
      ['Redis, namespace (hash)', `redis:rn=${redis.url(0)}?format=namespace&key=ns`],
      ['PostgreSQL, access (table)', `postgres:p=${pg.url('events')}?format=access`],
      ['MariaDB, access (table)', `mysql:m=${my.url('events')}?format=access`],
      ['webhook (HTTP POST per event)', `webhook:w=http://127.0.0.1:${(hook.address() as AddressInfo).port}/`],
    ];
    const drained: Row[] = [];
    for (const [label, spec] of targets) {
      const r = await drain(root, spec);
      drained.push({ target: label, events: EVENTS, seconds: r.seconds, 'events/s': r.perSecond });
    }
    printTable(`Events delivered from the queue, per target (${EVENTS} each)`, drained);

    // PutObject with notifications on (every event of the bucket to Redis) and off.
    const on = await startGateway({ metaUrl: await volumeAt(root, 'on'), accessKey: KEY, secretKey: SECRET, notify: [parseTargetSpec(`redis:r=${redis.url(1)}`)], log: () => undefined });
    gateways.push(on);
    const off = await startGateway({ metaUrl: await volumeAt(root, 'off'), accessKey: KEY, secretKey: SECRET, log: () => undefined });
    gateways.push(off);
    for (const gw of [on, off]) {
      const s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
      await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
      if (gw === on) {
        await s3.send(new PutBucketNotificationConfigurationCommand({
          Bucket: 'bench', NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:strata:sqs::r:redis', Events: ['s3:ObjectCreated:*'] }] },
        }));
      }
      s3.destroy();
    }
    const lat = { on: [] as number[], off: [] as number[] };
    await putLatencies(on, 'bench', 100);
    await putLatencies(off, 'bench', 100);
    const bar = progressBar('PUT rounds, notifications on and off', ROUNDS * 2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        lat[which].push(...await putLatencies(which === 'on' ? on : off, 'bench', PUTS));
        bar.tick();
      }
    }
    bar.stop();
    const on50 = percentile(lat.on.sort((a, b) => a - b), 0.5);
    const off50 = percentile(lat.off.sort((a, b) => a - b), 0.5);
    const rows: Row[] = [
      { 'PutObject 4 KiB, sequential': 'p50 ms', 'notifications on': on50, 'notifications off': off50, 'on/off': on50 / off50, target: '<= 1.10' },
      { 'PutObject 4 KiB, sequential': 'p95 ms', 'notifications on': percentile(lat.on, 0.95), 'notifications off': percentile(lat.off, 0.95), 'on/off': percentile(lat.on, 0.95) / percentile(lat.off, 0.95), target: '' },
    ];
    printTable(`What notifications add to PutObject (${ROUNDS} alternating rounds of ${PUTS} PUTs each)`, rows);
    const added = on50 / off50 - 1;
    console.log(`\nsummary: delivery ${drained.map((d) => `${String(d.target).split(',')[0]} ${Math.round(Number(d['events/s']))}/s`).join(', ')}; PutObject p50 +${(added * 100).toFixed(1)}% with notifications (target <= 10%): ${added <= 0.1 ? 'met' : 'missed'}`);
    const file = await writeJson(packageRoot(), 'events', { drained, put: rows, events: EVENTS, puts: PUTS, rounds: ROUNDS });
    console.log(`results: ${file}`);
  } finally {
    for (const gw of gateways) await gw.close().catch(() => undefined);
    await new Promise<void>((resolve) => hook.close(() => resolve()));
    await redis.remove();
    await pg.stop();
    await my.stop();
    await closePool();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
