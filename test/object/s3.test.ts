// The S3 backend against a real S3 server (s3rver) on loopback: the shared conformance suite,
// plain and under a key prefix, and what is particular to S3.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocBuffer, releaseBuffer } from '../../src/hotpath/index.js';
import { hot } from '../../src/hotpath/memory.js';
import { canonicalStorageUrl, openObjectStore } from '../../src/object/open.js';
import { S3ObjectStore } from '../../src/object/s3.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { objectStoreConformance } from './conformance.js';
import { rejectionOf } from './rejection.js';

let server: Promise<RunningS3rver> | undefined;
const s3rver = () => (server ??= startS3rver());
afterAll(async () => {
  if (server) await (await server).stop();
});

let buckets = 0;
/** A fresh bucket name (3..63 characters). */
const freshBucket = (tag: string) => `${tag}-${process.pid}-${++buckets}`;
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };

objectStoreConformance('s3 (s3rver)', async () => {
  const srv = await s3rver();
  const store = await S3ObjectStore.open({ endpoint: srv.endpoint, bucket: freshBucket('conf'), ...creds, create: true });
  return { store, cleanup: async () => {} };
});

objectStoreConformance('s3 with a key prefix from the URL (s3rver)', async () => {
  const srv = await s3rver();
  const bucket = freshBucket('pfx');
  const url = `http://${S3RVER_ACCESS_KEY}:${S3RVER_SECRET_KEY}@127.0.0.1:${srv.port}/${bucket}/team/vol`;
  const store = await openObjectStore(url, { create: true });
  // Neighbours in the same bucket must never show through.
  const whole = await openObjectStore(srv.url(bucket), creds);
  await whole.put('team/vol-other/x', Buffer.from('n'));
  await whole.put('team/vok', Buffer.from('n'));
  await whole.put('a', Buffer.from('n'));
  await whole.close();
  return { store, cleanup: async () => {} };
});

describe('S3ObjectStore (S3 specifics)', () => {
  let srv: RunningS3rver;
  beforeAll(async () => {
    srv = await s3rver();
  });

  it('describes itself without credentials, and opens by URL with the prefix applied', async () => {
    const bucket = freshBucket('desc');
    const url = `http://${S3RVER_ACCESS_KEY}:${S3RVER_SECRET_KEY}@127.0.0.1:${srv.port}/${bucket}/p/q`;
    const store = await openObjectStore(url, { create: true });
    expect(store.describe()).toBe(`${srv.endpoint}/${bucket}/p/q/`);
    expect(store.describe()).not.toContain(S3RVER_SECRET_KEY);
    await store.put('k', Buffer.from('v'));
    const whole = await openObjectStore(srv.url(bucket), creds);
    expect((await whole.list()).objects.map((o) => o.key)).toEqual(['p/q/k']);
    await whole.close();
    await store.close();
    expect(canonicalStorageUrl(url)).toBe(srv.url(bucket, 'p/q'));
    expect(canonicalStorageUrl('s3://AK:S%2FK@my-bucket/a%20b/c?region=eu-west-1')).toBe('s3://my-bucket/a%20b/c?region=eu-west-1');
  });

  it('refuses a missing bucket unless asked to create it, naming the bucket', async () => {
    const bucket = freshBucket('missing');
    const err = await rejectionOf(S3ObjectStore.open({ endpoint: srv.endpoint, bucket, ...creds }));
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect(err.message).toContain(`bucket "${bucket}" does not exist`);
    const store = await S3ObjectStore.open({ endpoint: srv.endpoint, bucket, ...creds, create: true });
    await store.put('x', Buffer.from('1'));
    await store.close();
    // Opening again (bucket present) with create is fine and keeps the data.
    const again = await S3ObjectStore.open({ endpoint: srv.endpoint, bucket, ...creds, create: true });
    expect((await again.get('x')).toString()).toBe('1');
    await again.close();
  });

  it('takes credentials from the environment when none are given', async () => {
    const bucket = freshBucket('env');
    const env = { AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_KEY };
    const store = await openObjectStore(srv.url(bucket), { create: true, env });
    await store.put('k', Buffer.from('v'));
    await store.close();
    const err = await rejectionOf(openObjectStore(srv.url(bucket), { env: {} }));
    expect(err).toMatchObject({ code: 'EACCES' });
    expect(err.message).toMatch(/no credentials .*AWS_ACCESS_KEY_ID/);
  });

  it('reads straight into a buffer that lives in WebAssembly memory', async () => {
    const store = await S3ObjectStore.open({ endpoint: srv.endpoint, bucket: freshBucket('wasm'), ...creds, create: true });
    const data = randomBytes(256 * 1024);
    await store.put('wasm', data);
    const buf = allocBuffer(256 * 1024 + 100);
    try {
      // A boolean, not toBe(): a failure would make vitest print all 4 GiB of WASM memory.
      expect(hot().owns(buf), 'the buffer lies in WASM memory').toBe(true);
      expect(await store.getInto('wasm', 0, buf)).toBe(data.length);
      expect(buf.subarray(0, data.length).equals(data)).toBe(true);
      expect(await store.getInto('wasm', 1000, buf.subarray(0, 1))).toBe(1);
      expect(buf[0]).toBe(data[1000]);
      await store.put('from-wasm', buf.subarray(10, 20));
      expect((await store.get('from-wasm')).equals(data.subarray(10, 20))).toBe(true);
    } finally {
      releaseBuffer(buf);
      await store.close();
    }
  });

  it('fails with EBADF once closed', async () => {
    const store = await S3ObjectStore.open({ endpoint: srv.endpoint, bucket: freshBucket('closed'), ...creds, create: true });
    await store.put('k', Buffer.from('v'));
    await store.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'EBADF' });
    await expect(store.put('k2', Buffer.from('v'))).rejects.toMatchObject({ code: 'EBADF' });
    await expect(store.list()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('refuses bad options with EINVAL naming the option', async () => {
    for (const [opts, what] of [
      [{ ioRetries: -1 }, /ioRetries/],
      [{ requestTimeoutMs: 0 }, /requestTimeoutMs/],
      [{ maxSockets: 0 }, /maxSockets/],
      [{ accessKey: 'only-half', secretKey: undefined }, /both an access key and a secret key/],
      [{ bucket: 'No_Such' }, /bucket name/],
      [{ endpoint: 'ftp://x' }, /endpoint/],
    ] as const) {
      const err = await rejectionOf(S3ObjectStore.open({ endpoint: srv.endpoint, bucket: 'fine-bucket', ...creds, ...opts } as never));
      expect(err.code, JSON.stringify(opts)).toBe('EINVAL');
      expect(err.message).toMatch(what);
    }
  });
});
