// Bucket event notifications end to end: the AWS SDK drives a workload causing every event type
// through a gateway whose targets are real servers (Redis, PostgreSQL, MariaDB, an HTTP webhook);
// each target then holds exactly the records S3 would have sent, field by field, filters honoured.
import {
  CreateBucketCommand, GetBucketNotificationConfigurationCommand, PutBucketNotificationConfigurationCommand, PutBucketPolicyCommand,
  type Event, type FilterRuleName, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargetSpec, type TargetSpec } from '../../src/events/targets/target.js';
import { databases } from '../helpers/databases.js';
import { testRedis, type RedisServer } from '../helpers/redis.js';
import { ACCESS_KEY, SECRET_KEY, errorCodeOf, rawRequest, startTestGateway, type TestGateway } from '../gateway/harness.js';
import { signHeaders } from '../gateway/signer.js';
import { described, namespaceAfter, runWorkload, type ExpectedEvent } from './workload.js';

const redisNeed = testRedis();
const pgs = databases('postgres');
const mys = databases('mysql');
const parts = { skip: redisNeed.skip || pgs.skip || mys.skip };

interface Received { records: Record<string, unknown>[] }

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(parts.skip)('gateway event notifications to Redis, PostgreSQL, MariaDB and a webhook', () => {
  let redis: RedisServer;
  let pgUrl: string;
  let myUrl: string;
  let hook: Server;
  const hooked: { auth: string | undefined; body: { EventName: string; Key: string; Records: Record<string, unknown>[] } }[] = [];
  let t: TestGateway;
  let specs: TargetSpec[];
  const started = Date.now();

  beforeAll(async () => {
    redisNeed.check();
    pgs.check();
    mys.check();
    redis = await redisNeed.start();
    pgUrl = await pgs.fresh('events');
    myUrl = await mys.fresh('events');
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooked.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) as typeof hooked[number]['body'] });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    process.env.STRATA_TEST_HOOK_TOKEN = 'hook-secret';
    specs = [
      `redis:rlist=${redis.url(0)}?format=access&key=s3-access`,
      `redis:rhash=${redis.url(0)}?format=namespace&key=s3-objects`,
      `postgres:plog=${pgUrl}?format=access&table=s3_log`,
      `postgres:pns=${pgUrl}?format=namespace&table=s3_ns`,
      `mysql:mlog=${myUrl}?format=access&table=s3_log`,
      `mysql:mns=${myUrl}?format=namespace&table=s3_ns`,
      `webhook:hook=http://127.0.0.1:${(hook.address() as AddressInfo).port}/events?token=\${STRATA_TEST_HOOK_TOKEN}`,
    ].map((s) => parseTargetSpec(s));
    t = await startTestGateway({ notify: specs });
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
    await redis?.remove();
    await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
  });

  const readers: Record<string, () => Promise<Received | Map<string, Record<string, unknown>>>> = {
    rlist: async () => {
      const c = new Redis(redis.url(0), { lazyConnect: false });
      try {
        const items = await c.lrange('s3-access', 0, -1);
        return { records: items.map((i) => (JSON.parse(i) as { Event: Record<string, unknown>[] }).Event[0]!) };
      } finally {
        c.disconnect();
      }
    },
    rhash: async () => {
      const c = new Redis(redis.url(0));
      try {
        const all = await c.hgetall('s3-objects');
        return new Map(Object.entries(all).map(([k, v]) => [k, (JSON.parse(v) as { Records: Record<string, unknown>[] }).Records[0]!]));
      } finally {
        c.disconnect();
      }
    },
    plog: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        const r = await c.query('SELECT event_data FROM s3_log ORDER BY id').catch(() => ({ rows: [] as { event_data: { Records: Record<string, unknown>[] } }[] }));
        return { records: (r.rows as { event_data: { Records: Record<string, unknown>[] } }[]).map((row) => row.event_data.Records[0]!) };
      } finally {
        await c.end();
      }
    },
    pns: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        const r = await c.query('SELECT key, value FROM s3_ns').catch(() => ({ rows: [] as { key: string; value: { Records: Record<string, unknown>[] } }[] }));
        return new Map((r.rows as { key: string; value: { Records: Record<string, unknown>[] } }[]).map((row) => [row.key, row.value.Records[0]!]));
      } finally {
        await c.end();
      }
    },
    mlog: async () => {
      const c = await mysql.createConnection(myUrl);
      try {
        const [rows] = await c.query('SELECT event_data FROM s3_log ORDER BY id').catch(() => [[]]);
        return { records: (rows as { event_data: unknown }[]).map((row) => (typeof row.event_data === 'string' ? JSON.parse(row.event_data) : row.event_data) as { Records: Record<string, unknown>[] }).map((d) => d.Records[0]!) };
      } finally {
        await c.end();
      }
    },
    mns: async () => {
      const c = await mysql.createConnection(myUrl);
      try {
        const [rows] = await c.query('SELECT key_name, value FROM s3_ns').catch(() => [[]]);
        return new Map((rows as { key_name: string; value: unknown }[]).map((row) => [row.key_name, ((typeof row.value === 'string' ? JSON.parse(row.value) : row.value) as { Records: Record<string, unknown>[] }).Records[0]!]));
      } finally {
        await c.end();
      }
    },
    hook: async () => ({ records: hooked.map((h) => h.body.Records[0]!) }),
  };

  it('every target holds exactly the records of the workload, in order, with S3\'s fields', async () => {
    const expected = new Map<string, { objects: ExpectedEvent[] }>();
    const bucketEvents: ExpectedEvent[] = [];
    for (const s of specs) {
      const run = await runWorkload(t.s3, `b-${s.id}`, `spare-${s.id}`, `arn:strata:sqs::${s.id}:${s.type}`);
      expected.set(s.id, run);
      bucketEvents.push(...run.buckets);
    }
    for (const s of specs) {
      const mine = expected.get(s.id)!.objects;
      if (s.format === 'access') {
        const got = await until(`${s.id}'s records`, readers[s.id]! as () => Promise<Received>, (r) => r.records.length >= mine.length + bucketEvents.length);
        expect(got.records.length, s.id).toBe(mine.length + bucketEvents.length);
        const objects = got.records.filter((r) => (r.s3 as { object?: unknown }).object !== undefined);
        expect(objects.map(described), s.id).toEqual(mine);
        expect(got.records.filter((r) => (r.s3 as { object?: unknown }).object === undefined).map(described), s.id).toEqual(bucketEvents);
        // Every record as S3 writes it; sequencers grow in delivery order.
        let last = '';
        for (const r of got.records) {
          expect(r).toMatchObject({
            eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1',
            requestParameters: { sourceIPAddress: '127.0.0.1' }, s3: { s3SchemaVersion: '1.0' },
          });
          expect(Date.parse(String(r.eventTime))).toBeGreaterThanOrEqual(started - 1000);
          expect(String((r.userIdentity as { principalId: string }).principalId)).not.toBe('');
          const s3 = r.s3 as { bucket: { name: string; arn: string }; object?: { sequencer: string } };
          expect(s3.bucket.arn).toBe(`arn:aws:s3:::${s3.bucket.name}`);
          if (s3.object) {
            expect(s3.object.sequencer).toMatch(/^[0-9A-F]{16}$/);
            expect(s3.object.sequencer > last, `${s.id}: sequencers in order`).toBe(true);
            last = s3.object.sequencer;
          }
        }
      } else {
        const want = namespaceAfter(mine);
        const got = await until(`${s.id}'s entries`, readers[s.id]! as () => Promise<Map<string, Record<string, unknown>>>,
          (m) => m.size === want.size && [...want.keys()].every((k) => m.has(k) && described(m.get(k)!).eventName === want.get(k)!.eventName));
        expect(new Map([...got].map(([k, r]) => [k, described(r)])), s.id).toEqual(want);
      }
    }
    // The webhook's token came from the environment, never from the command line.
    expect(new Set(hooked.map((h) => h.auth))).toEqual(new Set(['Bearer hook-secret']));
    expect(hooked.every((h) => h.body.EventName === `s3:${String(h.body.Records[0]!.eventName)}`)).toBe(true);
    // Nothing is left queued and nothing failed.
    // (A namespace target can show its objects before the reads and bucket events it ignores are through.)
    const stats = await until('empty queues', () => t.gw.core.gv.system.vfs.meta.eventStats(), (st) => st.length === specs.length && st.every((x) => x.depth === 0));
    expect(stats.map((x) => [x.target, x.depth, x.failed, x.dropped])).toEqual(specs.map((s) => s.id).sort().map((id) => [id, 0, 0, 0]));
  }, 120_000);

  const signedGet = (path: string) => signHeaders({
    method: 'GET', path, query: 'notification=', host: new URL(t.gw.url).host, headers: {},
    payloadHash: createHash('sha256').update('').digest('hex'), accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
  }).headers;

  it('the configuration reads back as it was put; a bad one gets S3\'s error and changes nothing', async () => {
    const bucket = 'config-checks';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const arn = 'arn:strata:sqs::hook:webhook';
    await t.s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'one', QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }, { Name: 'suffix', Value: '.csv' }] } } }] },
    }));
    const read = () => t.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    const before = await read();
    expect(before.QueueConfigurations).toEqual([{ Id: 'one', QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }, { Name: 'suffix', Value: '.csv' }] } } }]);
    const refused = async (config: ConstructorParameters<typeof PutBucketNotificationConfigurationCommand>[0]['NotificationConfiguration']) => {
      const err = await t.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config })).then(() => null, (e: unknown) => e as S3ServiceException);
      return err?.name;
    };
    expect(await refused({ QueueConfigurations: [{ QueueArn: 'arn:strata:sqs::nosuch:redis', Events: ['s3:ObjectCreated:*'] }] })).toBe('InvalidArgument');
    expect(await refused({ QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:Everything' as Event] }] })).toBe('InvalidArgument');
    expect(await refused({ QueueConfigurations: [{ QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'middle' as FilterRuleName, Value: 'x' }] } } }] })).toBe('InvalidArgument');
    // Overlapping: the same event for keys both rules could match.
    expect(await refused({
      QueueConfigurations: [
        { QueueArn: arn, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'a/' }] } } },
        { QueueArn: 'arn:strata:sqs::rlist:redis', Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'a/b' }] } } },
      ],
    })).toBe('InvalidArgument');
    // Not XML at all, signed as the SDK would sign it.
    const body = '<NotificationConfiguration><QueueConfiguration>';
    const host = new URL(t.gw.url).host;
    const signed = signHeaders({
      method: 'PUT', path: `/${bucket}`, query: 'notification=', host, headers: { 'content-length': String(body.length) },
      payloadHash: createHash('sha256').update(body).digest('hex'), accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
    });
    const raw = await rawRequest(t.gw.url, 'PUT', `/${bucket}?notification`, signed.headers, body);
    expect(errorCodeOf(raw.body)).toBe('MalformedXML');
    expect(await read()).toMatchObject({ QueueConfigurations: before.QueueConfigurations });
    // An element S3 does not know inside a configuration is MalformedXML, as there.
    const strange = `<NotificationConfiguration><QueueConfiguration><Queue>${arn}</Queue><Event>s3:ObjectCreated:*</Event><Colour>red</Colour></QueueConfiguration></NotificationConfiguration>`;
    const strangeSigned = signHeaders({
      method: 'PUT', path: `/${bucket}`, query: 'notification=', host: new URL(t.gw.url).host, headers: { 'content-length': String(strange.length) },
      payloadHash: createHash('sha256').update(strange).digest('hex'), accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
    });
    expect(errorCodeOf((await rawRequest(t.gw.url, 'PUT', `/${bucket}?notification`, strangeSigned.headers, strange)).body)).toBe('MalformedXML');
    // Without validation of the destination, another gateway's target may be named, if it is one of Strata's ARNs.
    expect(await t.s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket, SkipDestinationValidation: true,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'elsewhere', QueueArn: 'arn:strata:sqs::other-gateway:redis', Events: ['s3:ObjectRestore:*'] }] },
    })).then(() => 'ok')).toBe('ok');
    expect(await t.s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket, SkipDestinationValidation: true,
      NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q', Events: ['s3:ObjectCreated:*'] }] },
    })).then(() => 'ok', (e: S3ServiceException) => e.name)).toBe('InvalidArgument');
    // Disjoint filters on the same events do not overlap; an empty configuration removes all.
    await t.s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [
        { Id: 'a', QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'a/' }] } } },
        { Id: 'b', QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'b/' }] } } },
      ] },
    }));
    expect((await read()).QueueConfigurations?.map((q) => q.Id)).toEqual(['a', 'b']);
    await t.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }));
    expect((await read()).QueueConfigurations).toBeUndefined();
    expect(errorCodeOf((await rawRequest(t.gw.url, 'GET', '/no-such-bucket-here?notification', signedGet('/no-such-bucket-here'))).body)).toBe('NoSuchBucket');
    // Even a bucket whose policy lets everyone do everything keeps its configuration to its owner.
    await t.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }] }) }));
    expect((await rawRequest(t.gw.url, 'GET', `/${bucket}?notification`)).status).toBe(403);
    const anonymous = await rawRequest(t.gw.url, 'PUT', `/${bucket}?notification`, {}, '<NotificationConfiguration/>');
    expect(errorCodeOf(anonymous.body)).toBe('AccessDenied');
  });
});
