// A target outage during a steady workload: the webhook is down while the gateway (a process of
// its own) takes changes, is SIGKILLed and started again while the target is still down. Once the
// target is back every acknowledged change's event arrives, in each key's order; duplicates are
// allowed and counted. CI runs a short outage; STRATA_EVENTS_OUTAGE_S=600 and
// STRATA_EVENTS_OUTAGE_CHANGES=10000 run the issue's ten minutes and ten thousand changes.
import {
  CreateBucketCommand, DeleteObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/servers.js';
import { Volume } from '../../src/index.js';
import { CLI, strataAsync } from '../helpers/cli.js';
import { ACCESS_KEY, SECRET_KEY } from '../gateway/harness.js';

const OUTAGE_MS = Number(process.env.STRATA_EVENTS_OUTAGE_S ?? 15) * 1000;
const CHANGES = Number(process.env.STRATA_EVENTS_OUTAGE_CHANGES ?? 2000);
const KEYS = 50;
const BUCKET = 'outage';

interface Seen { key: string; name: string; etag?: string; sequencer: string }

/** The webhook receiver, which can go away (connections refused) and come back on its port. */
class Receiver {
  server: Server | null = null;
  readonly seen: Seen[] = [];
  constructor(readonly port: number) {}
  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const r = (JSON.parse(Buffer.concat(parts).toString()) as { Records: { eventName: string; s3: { object?: { key: string; eTag?: string; sequencer: string } } }[] }).Records[0]!;
        if (r.s3.object) this.seen.push({ key: decodeURIComponent(r.s3.object.key), name: r.eventName, etag: r.s3.object.eTag, sequencer: r.s3.object.sequencer });
        res.writeHead(200).end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }
  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function startGatewayProcess(metaUrl: string, port: number, hookPort: number, log: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'gateway', metaUrl, `127.0.0.1:${port}`, '--notify', `webhook:w=http://127.0.0.1:${hookPort}/`], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, STRATA_GATEWAY_ACCESS_KEY: ACCESS_KEY, STRATA_GATEWAY_SECRET_KEY: SECRET_KEY },
  });
  child.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start in 30 s:\n${log.join('')}`)), 30_000);
    child.once('message', () => { clearTimeout(timer); resolve(child); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the gateway exited with ${code}:\n${log.join('')}`)); });
  });
}

describe('a notification target down for a while, the gateway killed meanwhile', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('every acknowledged change\'s event arrives once the target is back, in each key\'s order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-outage-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'outage', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
    const receiver = new Receiver(await freePort());
    cleanups.push(() => receiver.down());
    await receiver.up();
    const port = await freePort();
    const log: string[] = [];
    let gateway = await startGatewayProcess(metaUrl, port, receiver.port, log);
    cleanups.push(async () => { gateway.kill('SIGKILL'); });
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    cleanups.push(async () => s3.destroy());
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: BUCKET,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'all', QueueArn: 'arn:strata:sqs::w:webhook', Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
    }));

    // Each change retried until acknowledged; a retried one may have happened twice.
    const acked: { key: string; name: string; etag?: string }[] = [];
    const exists = new Set<string>();
    const change = async (i: number) => {
      const key = `k${i % KEYS}`;
      const remove = exists.has(key) && i % 5 === 4;
      const body = `change ${i}`;
      for (;;) {
        try {
          if (remove) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
          else await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      if (remove) exists.delete(key);
      else exists.add(key);
      acked.push(remove ? { key, name: 'ObjectRemoved:Delete' } : { key, name: 'ObjectCreated:Put', etag: createHash('md5').update(body).digest('hex') });
    };

    const start = Date.now();
    let outageOver: number | null = null;
    let killed = false;
    let statusDuringOutage = '';
    for (let i = 0; i < CHANGES; i++) {
      await change(i);
      if (i === Math.floor(CHANGES / 10)) {
        await receiver.down();
        outageOver = Date.now() + OUTAGE_MS;
      }
      if (!killed && i === Math.floor(CHANGES / 2)) {
        killed = true;
        gateway.kill('SIGKILL');
        await new Promise((r) => gateway.once('exit', r));
        // Started again while the target is still unreachable: it comes up and keeps the queue.
        gateway = await startGatewayProcess(metaUrl, port, receiver.port, log);
        statusDuringOutage = (await strataAsync('events', 'status', metaUrl, '--json')).out;
      }
      // A steady pace: the changes spread over the outage.
      const due = start + ((i + 1) / CHANGES) * (OUTAGE_MS * 1.1);
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    if (outageOver !== null && Date.now() < outageOver) await new Promise((r) => setTimeout(r, outageOver! - Date.now()));
    expect(receiver.seen.length).toBeLessThan(acked.length);
    const during = JSON.parse(statusDuringOutage) as { targets: { target: string; depth: number; failed: number }[] };
    expect(during.targets[0]).toMatchObject({ target: 'w' });
    expect(during.targets[0]!.depth).toBeGreaterThan(0);
    await receiver.up();

    // Every acknowledged change's event, by key, in order.
    const byKey = (list: readonly { key: string; name: string; etag?: string }[]) => {
      const out = new Map<string, string[]>();
      for (const e of list) out.set(e.key, [...(out.get(e.key) ?? []), `${e.name}${e.etag ? `:${e.etag}` : ''}`]);
      return out;
    };
    const wanted = byKey(acked);
    const isSubsequence = (want: string[], have: string[]) => {
      let j = 0;
      for (const h of have) if (j < want.length && h === want[j]) j++;
      return j === want.length;
    };
    const deadline = Date.now() + 120_000;
    let firsts: Seen[] = [];
    for (;;) {
      const seenSeq = new Set<string>();
      firsts = receiver.seen.filter((s) => (seenSeq.has(s.sequencer) ? false : (seenSeq.add(s.sequencer), true)));
      const have = byKey(firsts);
      if ([...wanted].every(([k, w]) => isSubsequence(w, have.get(k) ?? []))) break;
      if (Date.now() > deadline) {
        const missing = [...wanted].filter(([k, w]) => !isSubsequence(w, have.get(k) ?? [])).slice(0, 5);
        throw new Error(`events missing or out of order for ${missing.length}+ keys, e.g. ${JSON.stringify(missing).slice(0, 1500)}\ngateway log:\n${log.join('').slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // Per key, events arrived in the order their changes were made (sequencers only grow).
    const lastOf = new Map<string, string>();
    for (const s of firsts) {
      const before = lastOf.get(s.key);
      expect(before === undefined || s.sequencer > before, `order of ${s.key}`).toBe(true);
      lastOf.set(s.key, s.sequencer);
    }
    const duplicates = receiver.seen.length - firsts.length;
    console.log(`outage: ${acked.length} acknowledged changes, ${receiver.seen.length} events received (${duplicates} duplicates, ${firsts.length - acked.length} more than acknowledged: changes retried after the kill), outage ${OUTAGE_MS / 1000} s`);
    // The gateway said it could not deliver, and kept going.
    expect(log.join('')).toMatch(/are not delivered .* they stay queued and are retried/);
    const after = JSON.parse((await strataAsync('events', 'status', metaUrl, '--json')).out) as { targets: { depth: number; dropped: number; delivered: number }[] };
    expect(after.targets[0]).toMatchObject({ depth: 0, dropped: 0 });
    expect(after.targets[0]!.delivered).toBeGreaterThanOrEqual(acked.length);
  }, OUTAGE_MS * 2 + 240_000);
});
