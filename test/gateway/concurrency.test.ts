// 16 clients at once, each with its own connections: writes, reads, listings and deletes under
// their own prefixes plus contended writes to shared keys, then the pipeline's hooks.
import {
  CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Error, type AuthorizationRequest, type GatewayEvent } from '../../src/gateway/index.js';
import { md5Hex, s3Failure, startTestGateway, type TestGateway } from './harness.js';

const CLIENTS = 16;
const OBJECTS = 12;

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'busy' }));
});

afterAll(async () => {
  await t?.cleanup();
});

async function worker(s3: S3Client, n: number): Promise<void> {
  const mine = new Map<string, Buffer>();
  for (let i = 0; i < OBJECTS; i++) {
    const key = `c${n}/obj-${i}`;
    const body = randomBytes(1 + ((n * 7919 + i * 104_729) % 300_000));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'busy', Key: key, Body: body }));
    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
    mine.set(key, body);
    // Everyone also writes the same few keys: whichever lands last must be whole.
    const shared = randomBytes(1000 + n);
    await s3.send(new PutObjectCommand({ Bucket: 'busy', Key: `shared/k${i % 3}`, Body: shared, Metadata: { md5: md5Hex(shared) } }));
  }
  for (const [key, body] of mine) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'busy', Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body), key).toBe(true);
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'busy', Prefix: `c${n}/`, MaxKeys: 5 }));
  expect(listed.KeyCount).toBe(5);
  for (let i = 0; i < OBJECTS; i += 2) await s3.send(new DeleteObjectCommand({ Bucket: 'busy', Key: `c${n}/obj-${i}` }));
  const after = await s3.send(new ListObjectsV2Command({ Bucket: 'busy', Prefix: `c${n}/` }));
  expect(after.Contents!.map((c) => c.Key).sort()).toEqual(Array.from({ length: OBJECTS / 2 }, (_, k) => `c${n}/obj-${2 * k + 1}`).sort());
}

describe(`${CLIENTS} concurrent clients`, () => {
  it('write, read, list and delete without interfering', async () => {
    const clients = Array.from({ length: CLIENTS }, () => t.client());
    await Promise.all(clients.map((c, n) => worker(c, n)));
    for (let i = 0; i < 3; i++) {
      const got = await t.s3.send(new GetObjectCommand({ Bucket: 'busy', Key: `shared/k${i}` }));
      const body = Buffer.from(await got.Body!.transformToByteArray());
      expect(md5Hex(body)).toBe(got.Metadata!.md5);
    }
    expect(await t.vol.readdir('/.strata-gateway/tmp')).toEqual([]);
  }, 120_000);

  it('run multipart uploads side by side', async () => {
    const MiB = 1024 * 1024;
    const bodies = Array.from({ length: 4 }, () => randomBytes(11 * MiB));
    await Promise.all(bodies.map((body, i) => new Upload({ client: t.client(), params: { Bucket: 'busy', Key: `mp/${i}`, Body: body }, partSize: 5 * MiB, queueSize: 3 }).done()));
    for (let i = 0; i < bodies.length; i++) {
      const got = await t.s3.send(new GetObjectCommand({ Bucket: 'busy', Key: `mp/${i}` }));
      expect(createHash('md5').update(await got.Body!.transformToByteArray()).digest('hex')).toBe(md5Hex(bodies[i]));
    }
  }, 120_000);

  it('serve large objects to slow, fast and vanishing readers at once, each byte as stored', async () => {
    // Several 4 MiB pieces per object: the gateway reuses its read buffers once the socket has sent
    // them, so a buffer handed back too early would show here as another object's bytes.
    const MiB = 1024 * 1024;
    const bodies = Array.from({ length: 6 }, () => randomBytes(13 * MiB + 12_345));
    await Promise.all(bodies.map((body, i) => new Upload({ client: t.client(), params: { Bucket: 'busy', Key: `large/${i}`, Body: body }, partSize: 8 * MiB }).done()));
    const readFully = async (i: number, slow: boolean): Promise<void> => {
      const got = await t.client().send(new GetObjectCommand({ Bucket: 'busy', Key: `large/${i}` }));
      const chunks: Buffer[] = [];
      for await (const chunk of got.Body as AsyncIterable<Buffer>) {
        chunks.push(Buffer.from(chunk));
        if (slow && chunks.length % 16 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(Buffer.concat(chunks).equals(bodies[i]), `large/${i}`).toBe(true);
    };
    const abandon = async (i: number): Promise<void> => {
      const got = await t.client().send(new GetObjectCommand({ Bucket: 'busy', Key: `large/${i}` }));
      const stream = got.Body as NodeJS.ReadableStream & { destroy(): void };
      for await (const _ of stream as AsyncIterable<Buffer>) break;
      stream.destroy();
    };
    for (let round = 0; round < 2; round++) {
      await Promise.all([
        ...bodies.map((_, i) => readFully(i, i % 2 === 0)),
        abandon(0), abandon(3),
      ]);
    }
  });
});

describe('pipeline hooks', () => {
  it('the authorizer sees every request after authentication; the event sink every change and read', async () => {
    const asked: AuthorizationRequest[] = [];
    const events: GatewayEvent[] = [];
    const g = await startTestGateway({
      authorizer: (r) => {
        asked.push(r);
        if (r.key?.startsWith('private/')) throw new S3Error('AccessDenied', 'private keys are off limits');
      },
      events: (e) => { events.push(e); },
    });
    try {
      await g.s3.send(new CreateBucketCommand({ Bucket: 'hooks' }));
      await g.s3.send(new PutObjectCommand({ Bucket: 'hooks', Key: 'public/a', Body: 'abc' }));
      expect(await s3Failure(g.s3.send(new PutObjectCommand({ Bucket: 'hooks', Key: 'private/b', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
      await g.s3.send(new GetObjectCommand({ Bucket: 'hooks', Key: 'public/a' }));
      // A copy is asked for twice: writing the target, reading the source.
      expect(await s3Failure(g.s3.send(new CopyObjectCommand({ Bucket: 'hooks', Key: 'public/copy', CopySource: 'hooks/private/x' })))).toEqual({ code: 'AccessDenied', status: 403 });
      await g.s3.send(new DeleteObjectCommand({ Bucket: 'hooks', Key: 'public/a' }));
      await new Promise((r) => setTimeout(r, 20));
      expect(asked.map((a) => [a.action, a.bucket, a.key, a.write])).toEqual([
        ['s3:CreateBucket', 'hooks', null, true],
        ['s3:PutObject', 'hooks', 'public/a', true],
        ['s3:PutObject', 'hooks', 'private/b', true],
        ['s3:GetObject', 'hooks', 'public/a', false],
        ['s3:PutObject', 'hooks', 'public/copy', true],
        ['s3:GetObject', 'hooks', 'private/x', false],
        ['s3:DeleteObject', 'hooks', 'public/a', true],
      ]);
      expect(asked.every((a) => a.identity.kind === 'root')).toBe(true);
      expect(events.map((e) => [e.name, e.bucket, e.key])).toEqual([
        ['s3:BucketCreated', 'hooks', undefined],
        ['s3:ObjectCreated:Put', 'hooks', 'public/a'],
        ['s3:ObjectAccessed:Get', 'hooks', 'public/a'],
        ['s3:ObjectRemoved:Delete', 'hooks', 'public/a'],
      ]);
      expect(events[1]).toMatchObject({ size: 3, etag: md5Hex('abc') });
      expect(await g.vol.readdir('/hooks')).toEqual([]);
    } finally {
      await g.cleanup();
    }
  });
});
