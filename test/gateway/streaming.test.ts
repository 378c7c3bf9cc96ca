// GET streams objects out of verified block memory with no copy: the bytes a socket has not sent
// yet are views of blocks the gateway holds. These tests check what a client relies on: a slow
// reader gets its own object's bytes even while other GETs churn through a tiny block memory; an
// abandoned GET gives its blocks back; ranges over many small blocks come out right.
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hot } from '../../src/hotpath/memory.js';
import { ACCESS_KEY, SECRET_KEY, startTestGateway, type TestGateway } from './harness.js';
import { signHeaders } from './signer.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function drain(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The first chunk of a response body, leaving the rest unread (the body paused). */
function firstChunk(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    body.once('data', (c: Buffer) => {
      body.pause();
      resolve(c);
    });
    body.once('error', reject);
  });
}

describe('gateway GET from block memory', () => {
  let t: TestGateway;
  const objects = new Map<string, Buffer>();

  beforeAll(async () => {
    // Two blocks of memory: every GET below evicts what the others loaded.
    t = await startTestGateway({ volume: { memoryCacheSize: 8 * MiB } });
    await t.s3.send(new CreateBucketCommand({ Bucket: 'stream' }));
    for (let i = 0; i < 5; i++) {
      const body = randomBytes(48 * MiB);
      objects.set(`obj${i}`, body);
      await t.s3.send(new PutObjectCommand({ Bucket: 'stream', Key: `obj${i}`, Body: body }));
    }
  }, 120_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  it('a paused reader gets its own bytes while other GETs reuse the block memory', async () => {
    const slow = await t.s3.send(new GetObjectCommand({ Bucket: 'stream', Key: 'obj0' }));
    const body = slow.Body as Readable;
    const head = await firstChunk(body);
    // While obj0's unsent pieces wait in the gateway's socket, four other objects go through.
    const others = t.client();
    const got = await Promise.all(['obj1', 'obj2', 'obj3', 'obj4'].map(async (key) => {
      const r = await others.send(new GetObjectCommand({ Bucket: 'stream', Key: key }));
      return [key, sha(await drain(r.Body as Readable))] as const;
    }));
    for (const [key, digest] of got) expect(digest, key).toBe(sha(objects.get(key)!));
    body.resume();
    const rest = await drain(body);
    expect(sha(Buffer.concat([head, rest]))).toBe(sha(objects.get('obj0')!));
  }, 60_000);

  it('an object of 5 MiB parts (slices that do not line up with blocks) reads back whole and in ranges', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(5 * MiB + 777)];
    const whole = Buffer.concat(parts);
    const { UploadId } = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'stream', Key: 'parts' }));
    const done = [];
    for (const [i, body] of parts.entries()) {
      const { ETag } = await t.s3.send(new UploadPartCommand({ Bucket: 'stream', Key: 'parts', UploadId, PartNumber: i + 1, Body: body }));
      done.push({ ETag, PartNumber: i + 1 });
    }
    await t.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'stream', Key: 'parts', UploadId, MultipartUpload: { Parts: done } }));
    const r = await t.s3.send(new GetObjectCommand({ Bucket: 'stream', Key: 'parts' }));
    expect(sha(await drain(r.Body as Readable))).toBe(sha(whole));
    for (const [from, to] of [[4 * MiB - 1, 5 * MiB], [5 * MiB - 10, 11 * MiB + 3], [9 * MiB, whole.length - 1]]) {
      const ranged = await t.s3.send(new GetObjectCommand({ Bucket: 'stream', Key: 'parts', Range: `bytes=${from}-${to}` }));
      expect(sha(await drain(ranged.Body as Readable)), `${from}-${to}`).toBe(sha(whole.subarray(from, to + 1)));
    }
  }, 60_000);
});

describe('gateway GET abandoned midway', () => {
  /** A gateway with a small block memory and a 64 MiB object, for the time of `use`. */
  async function withGateway(use: (t: TestGateway, data: Buffer) => Promise<void>): Promise<void> {
    const t = await startTestGateway({ volume: { memoryCacheSize: 8 * MiB } });
    try {
      await t.s3.send(new CreateBucketCommand({ Bucket: 'gone' }));
      const data = randomBytes(64 * MiB);
      await t.s3.send(new PutObjectCommand({ Bucket: 'gone', Key: 'k', Body: data }));
      await use(t, data);
    } finally {
      await t.cleanup();
    }
  }

  /** Hot-path bytes live once a first gateway has lived the same life (so what the process sets
   * up once is counted). */
  async function baseline(): Promise<number> {
    await withGateway(async (t, data) => {
      expect(sha(await drain((await t.s3.send(new GetObjectCommand({ Bucket: 'gone', Key: 'k' }))).Body as Readable))).toBe(sha(data));
    });
    return hot().liveBytes;
  }

  /** Closing the volume frees what its block memory holds; a piece still pinned by a response
   * that never let go of it would stay. */
  async function expectNoneHeldOver(before: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (hot().liveBytes > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(hot().liveBytes - before).toBeLessThanOrEqual(0);
  }

  it('gives back the block memory it held', async () => {
    const before = await baseline();
    await withGateway(async (t, data) => {
      for (let round = 0; round < 4; round++) {
        const r = await t.s3.send(new GetObjectCommand({ Bucket: 'gone', Key: 'k' }));
        const body = r.Body as Readable;
        await firstChunk(body);
        // Long enough for the gateway to fill the socket and queue pieces behind it.
        await new Promise((r) => setTimeout(r, 300));
        body.destroy();
      }
      // The gateway still serves whole objects.
      const again = await t.s3.send(new GetObjectCommand({ Bucket: 'gone', Key: 'k' }));
      expect(sha(await drain(again.Body as Readable))).toBe(sha(data));
    });
    await expectNoneHeldOver(before);
  }, 60_000);

  it('pipelined GETs cut off by the client give back theirs too', async () => {
    const before = await baseline();
    await withGateway(async (t) => {
      const u = new URL(t.gw.url);
      const s = signHeaders({ method: 'GET', path: '/gone/k', host: u.host, headers: {}, payloadHash: 'UNSIGNED-PAYLOAD', accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
      const head = `GET /gone/k HTTP/1.1\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
      const socket = connect(Number(u.port), u.hostname);
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      // The second waits behind the first: its response has no connection of its own yet.
      const live = hot().liveBytes;
      socket.write(head + head);
      await new Promise((r) => socket.once('data', r));
      socket.pause();
      // Until both responses hold blocks (the first's in its socket, the second's queued).
      const deadline = Date.now() + 10_000;
      while (hot().liveBytes - live < 12 * MiB && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const closed = new Promise((r) => socket.once('close', r));
      socket.destroy();
      await closed;
      // Give the gateway a moment to hear of it before the volume closes.
      await new Promise((r) => setTimeout(r, 200));
    });
    await expectNoneHeldOver(before);
  }, 60_000);
});

describe('gateway GETs held up by slow clients', () => {
  it('pin no more block memory than the limit, and still send the right bytes', async () => {
    const t = await startTestGateway({ volume: { memoryCacheSize: 8 * MiB }, limits: { pinnedBytes: 8 * MiB } });
    try {
      await t.s3.send(new CreateBucketCommand({ Bucket: 'slow' }));
      const objects = [randomBytes(32 * MiB), randomBytes(32 * MiB), randomBytes(32 * MiB), randomBytes(32 * MiB)];
      for (const [i, body] of objects.entries()) await t.s3.send(new PutObjectCommand({ Bucket: 'slow', Key: `o${i}`, Body: body }));
      const before = hot().liveBytes;
      // Eight readers, each taking a first chunk and then nothing: every GET fills its socket and
      // waits, holding what it read.
      const readers = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const client = t.client();
        const r = await client.send(new GetObjectCommand({ Bucket: 'slow', Key: `o${i % 4}` }));
        const body = r.Body as Readable;
        return { i, body, head: await firstChunk(body) };
      }));
      // Until the loads under way have settled (the same figure twice, 200 ms apart).
      let last = -1;
      for (const deadline = Date.now() + 10_000; hot().liveBytes !== last && Date.now() < deadline;) {
        last = hot().liveBytes;
        await new Promise((r) => setTimeout(r, 200));
      }
      // Unbounded, each would hold two or three 4 MiB blocks (64 MiB and more); bounded, the pins
      // (8 MiB) and the read-ahead half of the block memory (4 MiB).
      expect(hot().liveBytes - before).toBeLessThanOrEqual(16 * MiB);
      for (const { i, body, head } of readers) {
        body.resume();
        expect(sha(Buffer.concat([head, await drain(body)])), `reader ${i}`).toBe(sha(objects[i % 4]));
      }
    } finally {
      await t.cleanup();
    }
  }, 60_000);
});

describe('gateway GET on a volume of small blocks', () => {
  let t: TestGateway;
  const data = randomBytes(3 * MiB + 12345);

  beforeAll(async () => {
    t = await startTestGateway({}, { blockSize: 64 * 1024 });
    await t.s3.send(new CreateBucketCommand({ Bucket: 'small' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'small', Key: 'k', Body: data }));
  }, 60_000);

  afterAll(async () => {
    await t?.cleanup();
  });

  it('whole objects and ranges that cross many blocks match the bytes put', async () => {
    const whole = await t.s3.send(new GetObjectCommand({ Bucket: 'small', Key: 'k' }));
    expect(sha(await drain(whole.Body as Readable))).toBe(sha(data));
    for (const [from, to] of [[1, 65536], [65535, 65536 * 20 + 7], [MiB - 3, 2 * MiB + 100], [3 * MiB, data.length - 1]]) {
      const r = await t.s3.send(new GetObjectCommand({ Bucket: 'small', Key: 'k', Range: `bytes=${from}-${to}` }));
      expect(sha(await drain(r.Body as Readable)), `${from}-${to}`).toBe(sha(data.subarray(from, to + 1)));
    }
  }, 60_000);
});
