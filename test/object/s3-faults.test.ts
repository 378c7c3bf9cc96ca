// The S3 backend over a misbehaving network: a fault-injecting proxy between it and a real S3
// server (s3rver). Transient faults are retried until the data is byte-identical; a store that
// stays down past the retry budget gives EIO naming the key; refusals that retrying cannot fix
// (credentials, a missing bucket) fail at once with a message saying what to do.
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore, type S3StoreOptions } from '../../src/object/s3.js';
import { FAULTS, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { rejectionOf } from './rejection.js';

let srv: RunningS3rver;
let proxy: FaultProxy;
let buckets = 0;

beforeAll(async () => {
  srv = await startS3rver();
  proxy = await startFaultProxy({ targetPort: srv.port });
});
afterAll(async () => {
  await proxy?.close();
  await srv?.stop();
});
afterEach(() => {
  proxy.up();
  proxy.rate = 0;
  proxy.faults = FAULTS;
});

/** A store on a fresh bucket, reached through the proxy. */
async function storeViaProxy(options: Partial<S3StoreOptions> = {}): Promise<S3ObjectStore> {
  const bucket = `faults-${process.pid}-${++buckets}`;
  await srv.createBucket(bucket);
  return S3ObjectStore.open({ endpoint: proxy.endpoint, bucket, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, ...options });
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

describe('S3ObjectStore under faults', () => {
  it('round-trips 96 MiB of 512 KiB blocks byte-identically under a 10% fault rate', async () => {
    const store = await storeViaProxy({ ioRetries: 10, requestTimeoutMs: 2000, retryBaseDelayMs: 20, retryMaxDelayMs: 500 });
    const BLOCK = 512 * 1024;
    const COUNT = 192;
    // One random block, varied per block, so a block served for another shows.
    const base = randomBytes(BLOCK);
    const block = (i: number) => {
      const b = Buffer.from(base);
      b.writeUInt32LE(i, (i * 4099) % (BLOCK - 4));
      b.writeUInt32LE(i, 0);
      return b;
    };
    const keys = Array.from({ length: COUNT }, (_, i) => `chunks/0/0/${i}_0_${BLOCK}`);
    const digests = keys.map((_, i) => createHash('sha256').update(block(i)).digest('hex'));
    proxy.rate = 0.1;
    const started = Date.now();
    await inParallel(keys.map((k, i) => [k, i] as const), 8, async ([k, i]) => {
      await store.put(k, i % 2 ? block(i) : [block(i).subarray(0, 1000), block(i).subarray(1000)]);
    });
    const wrote = Date.now();
    await inParallel(keys.map((k, i) => [k, i] as const), 8, async ([k, i]) => {
      // Whole reads, and reads into a caller's buffer, both through the faults.
      let got: Buffer;
      if (i % 2) {
        got = await store.get(k);
      } else {
        got = Buffer.alloc(BLOCK);
        expect(await store.getInto(k, 0, got)).toBe(BLOCK);
      }
      expect(createHash('sha256').update(got).digest('hex'), k).toBe(digests[i]);
    });
    const read = Date.now();
    const ranges = await store.get(keys[5], { offset: BLOCK - 100, length: 1000 });
    expect(ranges.equals(block(5).subarray(BLOCK - 100))).toBe(true);
    // Listing and heads under faults see exactly what was written.
    const listed = await store.list({ prefix: 'chunks/', limit: 40 });
    expect(listed.objects.length).toBe(40);
    let all: string[] = [];
    for (let after: string | undefined; ;) {
      const page = await store.list({ prefix: 'chunks/', startAfter: after, limit: 40 });
      all = all.concat(page.objects.map((o) => o.key));
      if (!page.truncated) break;
      after = page.next;
    }
    expect(all).toEqual([...keys].sort());
    for (const k of keys.slice(0, 10)) expect((await store.head(k))?.size).toBe(BLOCK);
    proxy.rate = 0;
    const injected = Object.values(proxy.injected).reduce((a, b) => a + b, 0);
    const mib = (BLOCK * COUNT) / 2 ** 20;
    console.log(`${mib} MiB under 10% faults: write ${((wrote - started) / 1000).toFixed(1)}s, read ${((read - wrote) / 1000).toFixed(1)}s, ${proxy.requests} requests, ${injected} faults ${JSON.stringify(proxy.injected)}`);
    expect(injected).toBeGreaterThan(10);
    for (const f of FAULTS) expect(proxy.injected[f], f).toBeGreaterThan(0);
    await store.close();
  }, 120_000);

  it('keeps connections alive and never opens more than maxSockets at once', async () => {
    // A proxy of its own, so that the counts are this store's alone.
    const counting = await startFaultProxy({ targetPort: srv.port });
    const bucket = `faults-${process.pid}-${++buckets}`;
    await srv.createBucket(bucket);
    const store = await S3ObjectStore.open({ endpoint: counting.endpoint, bucket, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, maxSockets: 3 });
    const data = randomBytes(64 * 1024);
    await Promise.all(Array.from({ length: 60 }, (_, i) => store.put(`k/${i}`, data)));
    await Promise.all(Array.from({ length: 60 }, async (_, i) => expect((await store.get(`k/${i}`)).equals(data)).toBe(true)));
    expect(counting.requests).toBe(121); // the bucket check, 60 puts, 60 gets
    expect(counting.peakConnections).toBeLessThanOrEqual(3);
    expect(counting.connections).toBeLessThanOrEqual(6);
    await store.close();
    await counting.close();
  });

  it('retries throttling until it clears, and deletes of missing keys succeed', async () => {
    const store = await storeViaProxy({ ioRetries: 5, retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
    const before = proxy.requests;
    proxy.answerNext(3, { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
    await store.put('k', Buffer.from('v'));
    expect(proxy.requests - before).toBe(4);
    proxy.answerNext(2, { status: 429, code: 'TooManyRequests', message: 'slow down' });
    expect((await store.get('k')).toString()).toBe('v');
    await store.delete('never-there');
    await store.close();
  });

  it('gives EIO naming the key, operation and cause when the store stays down past the budget', async () => {
    const store = await storeViaProxy({ ioRetries: 3, requestTimeoutMs: 300, retryBaseDelayMs: 10, retryMaxDelayMs: 40 });
    const key = 'chunks/0/1/1001_0_4096';
    await store.put(key, randomBytes(4096));

    proxy.down('refuse');
    const started = Date.now();
    const refused = await rejectionOf(store.put('chunks/0/1/1002_0_4096', randomBytes(4096)));
    expect(refused).toMatchObject({ code: 'EIO', syscall: 'put', path: 'chunks/0/1/1002_0_4096' });
    expect(refused.message).toMatch(/failed 4 times/);
    expect(refused.message).toMatch(/ECONNRESET|ECONNREFUSED|socket hang up/);
    expect(Date.now() - started).toBeLessThan(5000);

    proxy.down('stall');
    const stalled = await rejectionOf(store.getInto(key, 0, Buffer.alloc(4096)));
    expect(stalled).toMatchObject({ code: 'EIO', syscall: 'get', path: key });
    expect(stalled.message).toContain(key);
    expect(stalled.message).toMatch(/timed out/);
    await expect(store.head(key)).rejects.toMatchObject({ code: 'EIO', path: key });
    await expect(store.list({ prefix: 'chunks/' })).rejects.toMatchObject({ code: 'EIO', syscall: 'list' });

    // Once the store is back, nothing was lost and nothing half-written shows.
    proxy.up();
    expect((await store.list({ prefix: 'chunks/' })).objects.map((o) => o.key)).toEqual([key]);
    await store.put('chunks/0/1/1002_0_4096', Buffer.alloc(4096, 7));
    expect((await store.get('chunks/0/1/1002_0_4096')).equals(Buffer.alloc(4096, 7))).toBe(true);
    await store.close();
  });

  it('does not retry refused credentials, and says what to check', async () => {
    // s3rver accepts any SigV4 signature for a known access key, so an unknown key stands in
    // for wrong credentials.
    const bucket = `faults-${process.pid}-${++buckets}`;
    await srv.createBucket(bucket);
    const before = proxy.requests;
    const err = await rejectionOf(S3ObjectStore.open({ endpoint: proxy.endpoint, bucket, accessKey: 'NOT-A-KEY', secretKey: 'nope' }));
    expect(err.code).toBe('EACCES');
    expect(err.message).toMatch(/check the access key and secret key/);
    expect(err.message).toMatch(/--access-key/);
    expect(proxy.requests - before).toBe(1);

    // An AccessDenied on an object (a policy, not the key) is not retried either.
    const store = await storeViaProxy({ ioRetries: 5 });
    const seen = proxy.requests;
    proxy.answerNext(1, { status: 403, code: 'AccessDenied', message: 'Access Denied' });
    const denied = await rejectionOf(store.get('k'));
    expect(denied).toMatchObject({ code: 'EACCES', syscall: 'get', path: 'k' });
    expect(denied.message).toMatch(/AccessDenied/);
    expect(proxy.requests - seen).toBe(1);
    await store.close();
  });

  it('says which bucket is missing when it disappears under a running store', async () => {
    const store = await storeViaProxy({ ioRetries: 5 });
    await store.put('k', Buffer.from('v'));
    await rm(join(srv.directory, store.bucket), { recursive: true, force: true });
    const err = await rejectionOf(store.get('k'));
    expect(err).toMatchObject({ code: 'EIO', path: 'k' });
    expect(err.message).toContain(`bucket "${store.bucket}" does not exist`);
    await store.close();
  });
});
