// Event notification targets against real servers: what each format stores, failures that name
// the target while a server is down, delivery once it is back, and the --notify spec.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget } from '../../src/events/targets/index.js';
import { parseTargetSpec, targetArn, type DeliveredEvent, type EventTarget } from '../../src/events/targets/target.js';
import { freePort } from '../../bench/servers.js';
import { databases } from '../helpers/databases.js';
import { testRedis, type RedisServer } from '../helpers/redis.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');

function record(eventName: string, bucket: string, key: string | null, n: number): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'strata:s3',
    eventTime: new Date(T0 + n).toISOString(),
    eventName: eventName.replace(/^s3:/, ''),
    s3: { bucket: { name: bucket }, ...(key === null ? {} : { object: { key, sequencer: String(n).padStart(16, '0') } }) },
  };
}

function objectEvent(eventName: string, bucket: string, key: string, n: number): DeliveredEvent {
  return { key: `${bucket}/${key}`, object: true, eventName, record: record(eventName, bucket, key, n), time: new Date(T0 + n) };
}

function bucketEvent(eventName: string, bucket: string, n: number): DeliveredEvent {
  return { key: bucket, object: false, eventName, record: record(eventName, bucket, null, n), time: new Date(T0 + n) };
}

/** Created, overwritten, removed, a bucket made, a key with characters that need care. */
const BATCH: readonly DeliveredEvent[] = [
  objectEvent('s3:ObjectCreated:Put', 'photos', 'a.jpg', 1),
  objectEvent('s3:ObjectCreated:Put', 'photos', 'dir/b.jpg', 2),
  objectEvent('s3:ObjectCreated:CompleteMultipartUpload', 'photos', 'dir/b.jpg', 3),
  objectEvent('s3:ObjectRemoved:Delete', 'photos', 'a.jpg', 4),
  bucketEvent('s3:BucketCreated', 'videos', 5),
  objectEvent('s3:ObjectCreated:Copy', 'videos', 'ünï cødé ✓.txt', 6),
];

/** The namespace the batch leaves: each surviving object's last event. */
const NAMESPACE = {
  'photos/dir/b.jpg': { Records: [BATCH[2]!.record] },
  'videos/ünï cødé ✓.txt': { Records: [BATCH[5]!.record] },
};

const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);

async function closing<T>(target: EventTarget, body: (t: EventTarget) => Promise<T>): Promise<T> {
  try {
    return await body(target);
  } finally {
    await target.close();
  }
}

const redis = testRedis();

describe.skipIf(redis.skip)('Redis target', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    redis.check();
    server = await redis.start();
    client = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    // It loses its connection in the outage tests and reconnects by itself.
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.remove();
  });

  it('access format: every event RPUSHed in order as {"Event":[record],"EventTime"}', async () => {
    await closing(openTarget(parseTargetSpec(`redis:log=${server.url()}`)), async (target) => {
      expect(target.arn).toBe('arn:strata:sqs::log:redis');
      await target.publish(BATCH);
    });
    const stored = (await client.lrange('strata-events', 0, -1)).map((s) => JSON.parse(s));
    expect(stored).toEqual(BATCH.map((e) => ({ Event: [e.record], EventTime: e.time.toISOString() })));
  });

  it('namespace format: a hash of "bucket/key" → {"Records":[record]}, removed keys gone, buckets left out (in the URL\'s database)', async () => {
    await closing(openTarget(parseTargetSpec(`redis:ns=${server.url(3)}?format=namespace&key=photos-ns`)), (t) => t.publish(BATCH));
    const db3 = new Redis(server.port, '127.0.0.1', { db: 3 });
    try {
      const hash = await db3.hgetall('photos-ns');
      expect(Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, JSON.parse(v)]))).toEqual(NAMESPACE);
    } finally {
      db3.disconnect();
    }
    expect(await client.exists('photos-ns')).toBe(0);
  });

  it('a publish while Redis is down rejects at once naming the target; the same target delivers once it is back', async () => {
    await closing(openTarget(parseTargetSpec(`redis:outage=${server.url()}?key=outage`)), async (target) => {
      await target.publish(BATCH.slice(0, 2));
      await server.stop();
      try {
        const started = Date.now();
        // The first may find the connection still open on this side and lose it (so may the next,
        // on a busy machine, before the close is seen); later ones are refused.
        const down = /^event target redis:outage \(redis:\/\/127\.0\.0\.1:\d+\/0\?key=outage\): (the connection to Redis was lost|.*ECONNREFUSED)/;
        await expect(target.publish(BATCH.slice(2, 4))).rejects.toThrow(down);
        await expect(target.publish(BATCH.slice(2, 4))).rejects.toThrow(down);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await server.start();
      }
      await target.publish(BATCH.slice(2));
    });
    const stored = (await client.lrange('outage', 0, -1)).map((s) => JSON.parse(s).Event[0]);
    expect(stored).toEqual(BATCH.map((e) => e.record));
  });

  it('a target opened while Redis is down connects on the first publish after it is back', async () => {
    await server.stop();
    let target: EventTarget;
    try {
      target = openTarget(parseTargetSpec(`redis:late=${server.url()}?key=late`));
      await expect(target.publish(BATCH.slice(0, 1))).rejects.toThrow(/redis:late/);
    } finally {
      await server.start();
    }
    await closing(target, (t) => t.publish(BATCH.slice(0, 1)));
    expect(await client.llen('late')).toBe(1);
  });
});

type Rows = Record<string, unknown>[];

/** What each SQL server gives a test: its URL, a query, and how to cut the target's connections. */
interface SqlCase {
  kind: 'postgres' | 'mysql';
  fresh(): Promise<{ url: string; query(sql: string): Promise<Rows>; killConnections(): Promise<void>; close(): Promise<void> }>;
}

const pgServer = databases('postgres');
const myServer = databases('mysql');

const SQL_CASES: readonly (SqlCase & { server: typeof pgServer })[] = [
  {
    kind: 'postgres',
    server: pgServer,
    async fresh() {
      const url = await pgServer.fresh('events');
      const db = new URL(url).pathname.slice(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return {
        url,
        query: async (sql) => (await client.query(sql)).rows as Rows,
        killConnections: async () => {
          await pgServer.admin().admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = 'strata-events'`);
        },
        close: () => client.end(),
      };
    },
  },
  {
    kind: 'mysql',
    server: myServer,
    async fresh() {
      const url = await myServer.fresh('events');
      const db = new URL(url).pathname.slice(1);
      const conn = await mysql.createConnection({ uri: url, timezone: 'Z' });
      const mine = await conn.query('SELECT CONNECTION_ID() AS id');
      const own = ((mine[0] as Rows)[0]!.id) as number;
      return {
        url,
        query: async (sql) => (await conn.query(sql))[0] as Rows,
        killConnections: async () => {
          const admin = myServer.admin();
          const ids = (await admin.admin(`SELECT id FROM information_schema.PROCESSLIST WHERE db = '${db}' AND id <> ${own}`)).split('\n').filter((l) => l !== '');
          for (const id of ids) await admin.admin(`KILL ${id}`);
        },
        close: () => conn.end(),
      };
    },
  },
];

for (const sql of SQL_CASES) {
  describe.skipIf(sql.server.skip)(`${sql.kind} target`, () => {
    beforeAll(() => sql.server.check());

    it('access format: one row per event, in order, with its time and {"Records":[record]}', async () => {
      const db = await sql.fresh();
      try {
        await closing(openTarget(parseTargetSpec(`${sql.kind}:log=${db.url}`)), async (target) => {
          await target.publish(BATCH.slice(0, 3));
          await target.publish([]);
          await target.publish(BATCH.slice(3));
        });
        const rows = await db.query('SELECT id, event_time, event_data FROM strata_events ORDER BY id');
        expect(rows.map((r) => json(r.event_data))).toEqual(BATCH.map((e) => ({ Records: [e.record] })));
        expect(rows.map((r) => (r.event_time as Date).getTime())).toEqual(BATCH.map((e) => e.time.getTime()));
      } finally {
        await db.close();
      }
    });

    it('namespace format: one row per surviving object, its last event (in the table= table)', async () => {
      const db = await sql.fresh();
      try {
        await closing(openTarget(parseTargetSpec(`${sql.kind}:ns=${db.url}?format=namespace&table=object_events`)), async (target) => {
          await target.publish(BATCH.slice(0, 2));
          await target.publish(BATCH.slice(2));
        });
        if (sql.kind === 'postgres') {
          const rows = await db.query('SELECT key, value FROM object_events ORDER BY key');
          expect(Object.fromEntries(rows.map((r) => [r.key, r.value]))).toEqual(NAMESPACE);
        } else {
          const rows = await db.query('SELECT key_hash, key_name, value FROM object_events');
          expect(Object.fromEntries(rows.map((r) => [r.key_name, json(r.value)]))).toEqual(NAMESPACE);
          for (const r of rows) expect(r.key_hash).toBe(createHash('sha256').update(r.key_name as string).digest('hex'));
        }
      } finally {
        await db.close();
      }
    });

    it('after its connections are cut, the target delivers again (at the latest on the next publish)', async () => {
      const db = await sql.fresh();
      try {
        await closing(openTarget(parseTargetSpec(`${sql.kind}:cut=${db.url}`)), async (target) => {
          await target.publish(BATCH.slice(0, 1));
          await db.killConnections();
          // The first may still find a connection that broke while idle; it must not stay broken.
          const first = await target.publish(BATCH.slice(1, 2)).then(() => null, (err: Error) => err);
          if (first) {
            expect(first.message).toMatch(new RegExp(`^event target ${sql.kind}:cut \\(`));
            await target.publish(BATCH.slice(1, 2));
          }
        });
        const rows = await db.query('SELECT event_data FROM strata_events ORDER BY id');
        expect(rows.map((r) => (json(r.event_data) as { Records: unknown[] }).Records[0])).toEqual([BATCH[0]!.record, BATCH[1]!.record]);
      } finally {
        await db.close();
      }
    });

    it('an unreachable server: opening does not connect, publishing rejects naming the target', async () => {
      const port = await freePort();
      const url = new URL(sql.kind === 'postgres' ? 'postgres://u:secret@127.0.0.1/db' : 'mysql://u:secret@127.0.0.1/db');
      url.port = String(port);
      await closing(openTarget(parseTargetSpec(`${sql.kind}:gone=${url}`)), async (target) => {
        const err = await target.publish(BATCH).then(() => null, (e: Error) => e);
        expect(err?.message).toMatch(new RegExp(`^event target ${sql.kind}:gone \\(${sql.kind}://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db\\): .*ECONNREFUSED`));
        expect(err?.message).not.toContain('secret');
      });
    });
  });
}

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A webhook receiver that answers `status` and keeps what it was sent. */
function receiver(port = 0): Promise<{ server: Server; port: number; received: Received[]; status: { code: number } }> {
  const received: Received[] = [];
  const status = { code: 200 };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => {
      received.push({ url: req.url!, headers: req.headers, body: JSON.parse(body) });
      res.statusCode = status.code;
      res.end(status.code === 200 ? 'ok' : 'not now');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, received, status }));
  });
}

function shut(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('webhook target', () => {
  it('POSTs each event in order as {"EventName","Key","Records":[record]} with the bearer token', async () => {
    const hook = await receiver();
    try {
      await closing(openTarget(parseTargetSpec(`webhook:hook=http://127.0.0.1:${hook.port}/s3/events?token=\${HOOK_TOKEN}`, { HOOK_TOKEN: 's3cr3t' })), async (target) => {
        expect(target.describe).toBe(`http://127.0.0.1:${hook.port}/s3/events?token=***`);
        await target.publish(BATCH);
      });
      expect(hook.received.map((r) => r.body)).toEqual(BATCH.map((e) => ({ EventName: e.eventName, Key: e.key, Records: [e.record] })));
      for (const r of hook.received) {
        expect(r.url).toBe('/s3/events');
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers.authorization).toBe('Bearer s3cr3t');
      }
    } finally {
      await shut(hook.server);
    }
  });

  it('a user and password in the URL are sent as Basic credentials', async () => {
    const hook = await receiver();
    try {
      await closing(openTarget(parseTargetSpec(`webhook:basic=http://ann:p%40ss@127.0.0.1:${hook.port}/`)), (t) => t.publish(BATCH.slice(0, 1)));
      expect(hook.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('ann:p@ss').toString('base64')}`);
    } finally {
      await shut(hook.server);
    }
  });

  it('an answer other than 2xx rejects naming the status, and stops the batch there', async () => {
    const hook = await receiver();
    hook.status.code = 503;
    try {
      await closing(openTarget(parseTargetSpec(`webhook:busy=http://127.0.0.1:${hook.port}/`)), async (target) => {
        await expect(target.publish(BATCH)).rejects.toThrow(`event target webhook:busy (http://127.0.0.1:${hook.port}/): the endpoint answered HTTP 503 Service Unavailable`);
        expect(hook.received).toHaveLength(1);
        hook.status.code = 204;
        await target.publish(BATCH);
      });
      expect(hook.received).toHaveLength(1 + BATCH.length);
    } finally {
      await shut(hook.server);
    }
  });

  it('a failure partway through a batch says how many events the receiver took before it', async () => {
    const hook = await receiver();
    hook.server.prependListener('request', () => { if (hook.received.length >= 2) hook.status.code = 500; });
    try {
      await closing(openTarget(parseTargetSpec(`webhook:half=http://127.0.0.1:${hook.port}/`)), async (target) => {
        const err = await target.publish(BATCH).then(() => null, (e: unknown) => e as { delivered: number; message: string });
        expect(err?.message).toMatch(/HTTP 500/);
        expect(err?.delivered).toBe(2);
      });
    } finally {
      await shut(hook.server);
    }
  });

  it('a closed port rejects naming the target; once the receiver is back the same target delivers', async () => {
    let hook = await receiver();
    const port = hook.port;
    await closing(openTarget(parseTargetSpec(`webhook:outage=http://127.0.0.1:${port}/`)), async (target) => {
      await target.publish(BATCH.slice(0, 1));
      await shut(hook.server);
      await expect(target.publish(BATCH.slice(1))).rejects.toThrow(new RegExp(`^event target webhook:outage \\(http://127\\.0\\.0\\.1:${port}/\\): .*ECONNREFUSED`));
      hook = await receiver(port);
      try {
        await target.publish(BATCH.slice(1));
        expect(hook.received.map((r) => r.body)).toEqual(BATCH.slice(1).map((e) => ({ EventName: e.eventName, Key: e.key, Records: [e.record] })));
      } finally {
        await shut(hook.server);
      }
    });
  });
});

describe('parseTargetSpec', () => {
  it('reads TYPE:ID=URL, takes Strata\'s options out of the URL and keeps the driver\'s', () => {
    expect(parseTargetSpec('redis:main=redis://:pw@127.0.0.1:6379/2?format=namespace&key=bucket-ns')).toEqual({
      type: 'redis', id: 'main', url: 'redis://:pw@127.0.0.1:6379/2', format: 'namespace', key: 'bucket-ns',
      describe: 'redis://:***@127.0.0.1:6379/2?format=namespace&key=bucket-ns',
    });
    expect(parseTargetSpec('redis:r-1_X=rediss://cache.example.com')).toEqual({
      type: 'redis', id: 'r-1_X', url: 'rediss://cache.example.com', format: 'access', key: 'strata-events', describe: 'rediss://cache.example.com',
    });
    expect(parseTargetSpec('postgres:pg=postgresql://u:pw@db/events?sslmode=require&table=S3_log')).toEqual({
      type: 'postgres', id: 'pg', url: 'postgresql://u:pw@db/events?sslmode=require', format: 'access', table: 'S3_log',
      describe: 'postgresql://u:***@db/events?sslmode=require&table=S3_log',
    });
    expect(parseTargetSpec('mysql:my=mysql://u@db:3306/events?format=namespace')).toMatchObject({ url: 'mysql://u@db:3306/events', format: 'namespace', table: 'strata_events' });
    expect(parseTargetSpec('webhook:w=https://hooks.example.com/s3?format=access&token=abc')).toEqual({
      type: 'webhook', id: 'w', url: 'https://hooks.example.com/s3', format: 'access', token: 'abc',
      describe: 'https://hooks.example.com/s3?format=access&token=***',
    });
    expect(parseTargetSpec(`webhook:${'x'.repeat(64)}=http://h/`).id).toHaveLength(64);
    expect(targetArn('postgres', 'pg')).toBe('arn:strata:sqs::pg:postgres');
  });

  it('replaces ${NAME} by the environment variable, and names one that is not set', () => {
    const env = { PG_PASSWORD: 's3cret', PG_HOST: 'db.internal' };
    const spec = parseTargetSpec('postgres:pg=postgres://strata:${PG_PASSWORD}@${PG_HOST}:5432/events', env);
    expect(spec.url).toBe('postgres://strata:s3cret@db.internal:5432/events');
    expect(spec.describe).toBe('postgres://strata:***@db.internal:5432/events');
    expect(() => parseTargetSpec('postgres:pg=postgres://strata:${NOT_SET_ANYWHERE}@db/events', env))
      .toThrow('the environment variable NOT_SET_ANYWHERE (in ${NOT_SET_ANYWHERE}) is not set');
    expect(() => parseTargetSpec('webhook:w=http://h/${BAD NAME}', env)).toThrow('"${BAD NAME}" is not an environment variable name');
  });

  const BAD: [spec: string, message: string][] = [
    ['redis', 'expected TYPE:ID=URL'],
    ['redis:main', 'expected TYPE:ID=URL'],
    ['kafka:main=kafka://h:9092', 'unknown target type "kafka" (the types are redis, postgres, mysql, webhook)'],
    ['Redis:main=redis://h', 'unknown target type "Redis"'],
    ['redis:=redis://h', 'the id "" must be 1 to 64 letters, digits, "_" or "-"'],
    ['redis:a b=redis://h', 'the id "a b" must be 1 to 64 letters'],
    [`redis:${'x'.repeat(65)}=redis://h`, 'must be 1 to 64 letters'],
    ['redis:main=127.0.0.1:6379', 'the URL does not parse'],
    ['redis:main=', 'the URL does not parse'],
    ['redis:main=http://127.0.0.1:6379', 'a redis target needs a redis:// or rediss:// URL, not http://'],
    ['postgres:p=mysql://h/db', 'a postgres target needs a postgres:// or postgresql:// URL, not mysql://'],
    ['mysql:m=postgres://h/db', 'a mysql target needs a mysql:// URL, not postgres://'],
    ['webhook:w=redis://h', 'a webhook target needs a http:// or https:// URL, not redis://'],
    ['redis:main=redis://h?db=2', 'unknown option "db" for a redis target (its options: format, key)'],
    ['redis:main=redis://h?table=t', 'unknown option "table" for a redis target'],
    ['webhook:w=http://h/?secret=x', 'unknown option "secret" for a webhook target (its options: format, token)'],
    ['postgres:p=postgres://h/db?key=k', 'unknown option "key" for a postgres target (its options: format, table)'],
    ['mysql:m=mysql://h/db?token=t', 'unknown option "token" for a mysql target'],
    ['redis:main=redis://h?format=json', 'format must be access or namespace, not "json"'],
    ['redis:main=redis://h?format=access&format=namespace', 'the option "format" is given twice'],
    ['webhook:w=http://h/?format=namespace', 'a webhook target only sends the access format'],
    ['redis:main=redis://h/db2', 'the path of a redis URL is the database number (e.g. /0), not "/db2"'],
    ['redis:main=redis://h?key=', 'key= names the list or hash and must not be empty'],
    ['postgres:p=postgres://h/db?table=1st', 'the table name "1st" must be a letter or "_" then up to 62 letters'],
    ['mysql:m=mysql://h/db?table=a;drop', 'the table name "a;drop" must be'],
    [`mysql:m=mysql://h/db?table=${'t'.repeat(64)}`, 'the table name'],
    ['webhook:w=http://h/?token=', 'token= must not be empty'],
    ['webhook:w=http://u:p@h/?token=abc', 'either a user and password in the URL (Basic) or token= (Bearer), not both'],
  ];

  it.each(BAD)('%s: %s', (spec, message) => {
    let thrown: Error | null = null;
    try {
      parseTargetSpec(spec, {});
    } catch (err) {
      thrown = err as Error;
    }
    expect(thrown?.message).toContain(message);
    expect(thrown?.message).toMatch(/^notification target ".*": .*\. Use e\.g\. \S+=\S+/);
  });

  it('error messages hide passwords and tokens', () => {
    expect(() => parseTargetSpec('redis:main=redis://:hunter2@h/x?format=bad')).toThrow(/^notification target "redis:main=redis:\/\/:\*\*\*\*@h\/x\?format=bad": /);
    expect(() => parseTargetSpec('webhook:w=http://h/?token=hunter2&x=1')).toThrow(/^notification target "webhook:w=http:\/\/h\/\?token=\*\*\*&x=\*\*\*": unknown option "x"/);
    // A variable's value that breaks the URL is not shown either.
    expect(() => parseTargetSpec('postgres:p=postgres://u:${PW}@db/x', { PW: 'pa/ss#wd' })).toThrow(/^notification target "postgres:p=postgres:\/\/u:\*\*\*\*@db\/x": the URL does not parse/);
    // A driver's own password option is hidden in what logs show.
    expect(parseTargetSpec('postgres:p=postgres://u@db/x?password=SuperSecret1&sslmode=require').describe).toBe('postgres://u@db/x?password=***&sslmode=require');
  });
});

describe('openTarget', () => {
  it('never connects nor throws for an unreachable server: that waits for publish', async () => {
    const port = await freePort();
    for (const spec of [`redis:r=redis://127.0.0.1:${port}`, `postgres:p=postgres://u:pw@127.0.0.1:${port}/db`,
      `mysql:m=mysql://u:pw@127.0.0.1:${port}/db`, `webhook:w=http://127.0.0.1:${port}/`]) {
      const target = openTarget(parseTargetSpec(spec));
      expect(target.arn).toBe(targetArn(target.type, target.id));
      const publishing = target.publish(BATCH);
      await expect(publishing).rejects.toThrow(`event target ${target.type}:${target.id} (`);
      await target.close();
      await expect(target.publish(BATCH)).rejects.toThrow('the target is closed');
    }
  });
});
