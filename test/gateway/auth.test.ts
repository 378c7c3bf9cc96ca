// Authentication and malformed requests against a running gateway: wrong keys and signatures,
// skewed and bad dates, presigned URLs, signed and unsigned aws-chunked streams, tampered bodies,
// huge headers, clients that hang up mid-upload. Each gets the S3 error a client expects and
// leaves no object and no temp file behind.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, errorCodeOf, rawRequest, s3Failure, startTestGateway, type TestGateway } from './harness.js';
import { signHeaders, signedChunks, unsignedChunks } from './signer.js';
import { sendTampered } from './tamper.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'auth' }));
});

afterAll(async () => {
  await t?.cleanup();
});

async function nothingStored(key: string): Promise<void> {
  expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'auth', Key: key }))), key).toMatchObject({ status: 404 });
  expect(await t.vol.readdir('/.strata-gateway/tmp')).toEqual([]);
}

const host = () => new URL(t.gw.url).host;

describe('signatures', () => {
  it('a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async () => {
    const wrong = t.client({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-secret' } });
    expect(await s3Failure(wrong.send(new PutObjectCommand({ Bucket: 'auth', Key: 'k1', Body: 'x' })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    const unknown = t.client({ credentials: { accessKeyId: 'NOBODY', secretAccessKey: SECRET_KEY } });
    expect(await s3Failure(unknown.send(new ListBucketsCommand({})))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    await nothingStored('k1');
  });

  it('a header changed after signing, or a body changed after signing, is refused', async () => {
    const header = new PutObjectCommand({ Bucket: 'auth', Key: 'k2', Body: 'data', Metadata: { a: 'b' } });
    expect(await s3Failure(sendTampered(t.s3, header, (r) => { r.headers['x-amz-meta-a'] = 'changed'; }, 'after-sign'))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    const body = new PutObjectCommand({ Bucket: 'auth', Key: 'k2', Body: 'data' });
    expect(await s3Failure(sendTampered(t.s3, body, (r) => { r.body = 'DATA'; }, 'after-sign'))).toEqual({ code: 'XAmzContentSHA256Mismatch', status: 400 });
    await nothingStored('k2');
  });

  it('bad, missing and skewed dates', async () => {
    const bad = new PutObjectCommand({ Bucket: 'auth', Key: 'k3', Body: 'x' });
    expect(await s3Failure(sendTampered(t.s3, bad, (r) => { r.headers['x-amz-date'] = '2013-05-24 00:00'; }, 'after-sign'))).toEqual({ code: 'AccessDenied', status: 403 });
    const other = new PutObjectCommand({ Bucket: 'auth', Key: 'k3', Body: 'x' });
    // A date that is not the credential's day.
    expect(await s3Failure(sendTampered(t.s3, other, (r) => { r.headers['x-amz-date'] = '20130524T000000Z'; }, 'after-sign'))).toEqual({ code: 'AuthorizationHeaderMalformed', status: 400 });
    const skewed = t.client({ systemClockOffset: 20 * 60 * 1000 });
    expect(await s3Failure(skewed.send(new PutObjectCommand({ Bucket: 'auth', Key: 'k3', Body: 'x' })))).toEqual({ code: 'RequestTimeTooSkewed', status: 403 });
    const behind = t.client({ systemClockOffset: -20 * 60 * 1000 });
    expect(await s3Failure(behind.send(new ListBucketsCommand({})))).toEqual({ code: 'RequestTimeTooSkewed', status: 403 });
    // Within 15 minutes is fine.
    const near = t.client({ systemClockOffset: 10 * 60 * 1000 });
    await near.send(new ListBucketsCommand({}));
    await nothingStored('k3');
  });

  it('anonymous, SigV2 and malformed Authorization headers are refused', async () => {
    const anon = await rawRequest(t.gw.url, 'GET', '/auth/x');
    expect([anon.status, errorCodeOf(anon.body)]).toEqual([403, 'AccessDenied']);
    expect(anon.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(anon.body).toContain(`<RequestId>${anon.headers['x-amz-request-id']}</RequestId>`);
    const v2 = await rawRequest(t.gw.url, 'GET', '/', { Authorization: `AWS ${ACCESS_KEY}:abc`, Date: new Date().toUTCString() });
    expect([v2.status, errorCodeOf(v2.body)]).toEqual([400, 'InvalidRequest']);
    const garbage = await rawRequest(t.gw.url, 'GET', '/', { Authorization: 'AWS4-HMAC-SHA256 nonsense', 'x-amz-date': '20200101T000000Z' });
    expect([garbage.status, errorCodeOf(garbage.body)]).toEqual([400, 'AuthorizationHeaderMalformed']);
    // A HEAD answer carries the status only.
    const head = await rawRequest(t.gw.url, 'HEAD', '/auth/x');
    expect([head.status, head.body]).toEqual([403, '']);
  });
});

describe('presigned URLs', () => {
  it('GET and PUT work; expired, tampered or future ones do not', async () => {
    const putUrl = await getSignedUrl(t.s3, new PutObjectCommand({ Bucket: 'auth', Key: 'presigned/obj' }), { expiresIn: 60 });
    const body = randomBytes(70_000);
    const put = await fetch(putUrl, { method: 'PUT', body });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(t.s3, new GetObjectCommand({ Bucket: 'auth', Key: 'presigned/obj', ResponseContentType: 'x/presigned' }), { expiresIn: 60 });
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('x/presigned');
    expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);

    const tampered = getUrl.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000');
    const t1 = await fetch(tampered);
    expect([t1.status, errorCodeOf(await t1.text())]).toEqual([403, 'SignatureDoesNotMatch']);
    const otherKey = getUrl.replace('presigned/obj', 'presigned/other');
    const t2 = await fetch(otherKey);
    expect([t2.status, errorCodeOf(await t2.text())]).toEqual([403, 'SignatureDoesNotMatch']);

    const expired = await getSignedUrl(t.s3, new GetObjectCommand({ Bucket: 'auth', Key: 'presigned/obj' }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    const t3 = await fetch(expired);
    const text3 = await t3.text();
    expect([t3.status, errorCodeOf(text3)]).toEqual([403, 'AccessDenied']);
    expect(text3).toContain('expired');
    const early = await getSignedUrl(t.s3, new GetObjectCommand({ Bucket: 'auth', Key: 'presigned/obj' }), { expiresIn: 60, signingDate: new Date(Date.now() + 3600_000) });
    const t4 = await fetch(early);
    expect([t4.status, errorCodeOf(await t4.text())]).toEqual([403, 'AccessDenied']);
    // An expiry out of range is refused like an expired URL (as AWS does), and writes nothing.
    for (const bad of ['999999999', '604801', '0', '-1', 'soon']) {
      const t5 = await fetch(putUrl.replace(/X-Amz-Expires=\d+/, `X-Amz-Expires=${bad}`), { method: 'PUT', body: 'changed' });
      expect([t5.status, errorCodeOf(await t5.text())], bad).toEqual([403, 'AccessDenied']);
    }
    expect((await t.vol.readFile('/auth/presigned/obj')).toString()).not.toBe('changed');
  });
});

describe('aws-chunked uploads', () => {
  it('signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are verified chunk by chunk', async () => {
    const chunks = [randomBytes(65536), randomBytes(65536), randomBytes(100)];
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const send = async (key: string, mutate?: (b: Buffer) => Buffer) => {
      const s = signHeaders({
        method: 'PUT', path: `/auth/${key}`, host: host(), payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
        headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(total) },
      });
      let body = signedChunks(s, chunks);
      if (mutate) body = mutate(body);
      return rawRequest(t.gw.url, 'PUT', `/auth/${key}`, { ...s.headers, 'content-length': body.length }, body);
    };
    const ok = await send('chunked/ok');
    expect(ok.status).toBe(200);
    const got = await t.s3.send(new GetObjectCommand({ Bucket: 'auth', Key: 'chunked/ok' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(chunks))).toBe(true);
    // One flipped byte in the second chunk: its signature fails, nothing is stored.
    const flipped = await send('chunked/flipped', (b) => {
      const c = Buffer.from(b);
      c[65536 + 200] ^= 0xff;
      return c;
    });
    expect([flipped.status, errorCodeOf(flipped.body)]).toEqual([403, 'SignatureDoesNotMatch']);
    await nothingStored('chunked/flipped');
    // A stream cut before its final chunk.
    const cut = await send('chunked/cut', (b) => b.subarray(0, 65536 + 100));
    expect([cut.status, errorCodeOf(cut.body)]).toEqual([400, 'IncompleteBody']);
    await nothingStored('chunked/cut');
  });

  it('signed trailers (…-PAYLOAD-TRAILER) carry a verified checksum', async () => {
    const data = randomBytes(30_000);
    const crc = (await import('node:zlib')).crc32(data);
    const good = Buffer.alloc(4);
    good.writeUInt32BE(crc >>> 0);
    const send = async (key: string, value: string) => {
      const s = signHeaders({
        method: 'PUT', path: `/auth/${key}`, host: host(), payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
        headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': 'x-amz-checksum-crc32' },
      });
      const body = signedChunks(s, [data], { 'x-amz-checksum-crc32': value });
      return rawRequest(t.gw.url, 'PUT', `/auth/${key}`, { ...s.headers, 'content-length': body.length }, body);
    };
    const ok = await send('trailer/ok', good.toString('base64'));
    expect(ok.status).toBe(200);
    expect(ok.headers['x-amz-checksum-crc32']).toBe(good.toString('base64'));
    // A checksum that does not match the bytes (correctly signed): BadDigest.
    const wrong = await send('trailer/wrong', 'AAAAAA==');
    expect([wrong.status, errorCodeOf(wrong.body)]).toEqual([400, 'BadDigest']);
    await nothingStored('trailer/wrong');
  });

  it('unsigned trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER): a wrong checksum is BadDigest', async () => {
    const data = randomBytes(10_000);
    const s = signHeaders({
      method: 'PUT', path: '/auth/unsigned/bad', host: host(), payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': 'x-amz-checksum-crc32c' },
    });
    const body = unsignedChunks([data.subarray(0, 5000), data.subarray(5000)], { 'x-amz-checksum-crc32c': 'AAAAAA==' });
    const r = await rawRequest(t.gw.url, 'PUT', '/auth/unsigned/bad', { ...s.headers, 'content-length': body.length }, body);
    expect([r.status, errorCodeOf(r.body)]).toEqual([400, 'BadDigest']);
    await nothingStored('unsigned/bad');
    // The declared length must match what arrives.
    const s2 = signHeaders({
      method: 'PUT', path: '/auth/unsigned/short', host: host(), payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length + 1), 'x-amz-trailer': 'x-amz-checksum-crc32c' },
    });
    const r2 = await rawRequest(t.gw.url, 'PUT', '/auth/unsigned/short', { ...s2.headers, 'content-length': body.length }, body);
    expect([r2.status, errorCodeOf(r2.body)]).toEqual([400, 'IncompleteBody']);
    await nothingStored('unsigned/short');
  });
});

describe('malformed requests', () => {
  it('huge headers get an S3 error', async () => {
    const r = await rawRequest(t.gw.url, 'GET', '/auth/x', { 'x-amz-meta-huge': 'h'.repeat(20_000) });
    expect([r.status, errorCodeOf(r.body)]).toEqual([400, 'RequestHeaderSectionTooLarge']);
    // Large user metadata that still fits the header section: MetadataTooLarge, nothing stored.
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'auth', Key: 'bigmeta', Body: 'x', Metadata: { a: 'x'.repeat(3000) } })))).toEqual({ code: 'MetadataTooLarge', status: 400 });
    await nothingStored('bigmeta');
  });

  it('a client that disconnects mid-upload leaves nothing', async () => {
    const total = 8 * 1024 * 1024;
    const s = signHeaders({ method: 'PUT', path: '/auth/cut/upload', host: host(), payloadHash: 'UNSIGNED-PAYLOAD', accessKey: ACCESS_KEY, secretKey: SECRET_KEY, headers: { 'content-length': String(total) } });
    const { port } = new URL(t.gw.url);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1', () => {
        sock.write(`PUT /auth/cut/upload HTTP/1.1\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
        sock.write(randomBytes(3 * 1024 * 1024), () => setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100));
      });
      sock.on('error', reject);
    });
    // The gateway notices, discards the temp file and places nothing.
    for (let i = 0; i < 50 && (await t.vol.readdir('/.strata-gateway/tmp')).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await nothingStored('cut/upload');
    expect(await t.vol.readdir('/auth')).not.toContain('cut');
  });

  it('Expect: 100-continue with a bad signature is refused before the body is sent', async () => {
    const s = signHeaders({ method: 'PUT', path: '/auth/expect', host: host(), payloadHash: 'UNSIGNED-PAYLOAD', accessKey: ACCESS_KEY, secretKey: 'wrong-secret-key', headers: { 'content-length': '1000000' } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: new URL(t.gw.url).port, method: 'PUT', path: '/auth/expect', headers: { ...s.headers, expect: '100-continue' }, agent: new Agent() }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('continue', () => reject(new Error('the gateway asked for the body of a refused request')));
      req.on('error', reject);
    });
    expect(status).toBe(403);
    // A good one gets its 100 Continue and succeeds.
    const put = await t.s3.send(new PutObjectCommand({ Bucket: 'auth', Key: 'expect-ok', Body: randomBytes(3 * 1024 * 1024) }));
    expect(put.ETag).toBeTruthy();
  });

  it('unsupported sub-resources and methods are named as such', async () => {
    const cmd = new ListBucketsCommand({});
    const lifecycle = await s3Failure(sendTampered(t.s3, cmd, (r) => { r.path = '/auth'; r.query = { lifecycle: '' }; }));
    expect(lifecycle).toEqual({ code: 'NotImplemented', status: 501 });
    const patch = await s3Failure(sendTampered(t.s3, new ListBucketsCommand({}), (r) => { r.method = 'PATCH'; r.path = '/auth/key'; }));
    expect(patch).toEqual({ code: 'MethodNotAllowed', status: 405 });
  });
});

describe('addressing and modes', () => {
  it('virtual-hosted-style requests name the bucket in the Host header', async () => {
    const g = await startTestGateway({ domains: ['s3.strata.test'] });
    try {
      await g.s3.send(new CreateBucketCommand({ Bucket: 'vhost' }));
      // Every name resolves to the gateway, as DNS would send bucket.s3.strata.test there.
      const lookup = (_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => (opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
      const { NodeHttpHandler } = await import('@smithy/node-http-handler');
      const vh = new S3Client({
        endpoint: `http://s3.strata.test:${g.gw.address.port}`, region: 'us-east-1', forcePathStyle: false, maxAttempts: 1,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ lookup } as never) }),
      });
      let hostSeen = '';
      vh.middlewareStack.add((next) => async (args) => {
        hostSeen = (args.request as { hostname: string }).hostname;
        return next(args);
      }, { step: 'finalizeRequest', priority: 'low' });
      await vh.send(new PutObjectCommand({ Bucket: 'vhost', Key: 'a/b.txt', Body: 'virtual' }));
      expect(hostSeen).toBe('vhost.s3.strata.test');
      const got = await vh.send(new GetObjectCommand({ Bucket: 'vhost', Key: 'a/b.txt' }));
      expect(await got.Body!.transformToString()).toBe('virtual');
      expect(await g.vol.readFile('/vhost/a/b.txt', 'utf8')).toBe('virtual');
      vh.destroy();
    } finally {
      await g.cleanup();
    }
  });

  it('a read-only gateway serves reads and refuses every change', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'auth', Key: 'ro/obj', Body: 'kept' }));
    const g = await startTestGateway({ readOnly: true });
    try {
      // Same volume? No: a fresh one; seed it through the SDK.
      await g.vol.mkdir('/robucket');
      await g.vol.writeFile('/robucket/f', 'read me');
      const got = await g.s3.send(new GetObjectCommand({ Bucket: 'robucket', Key: 'f' }));
      expect(await got.Body!.transformToString()).toBe('read me');
      expect(await s3Failure(g.s3.send(new PutObjectCommand({ Bucket: 'robucket', Key: 'g', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
      expect(await s3Failure(g.s3.send(new CreateBucketCommand({ Bucket: 'another' })))).toEqual({ code: 'AccessDenied', status: 403 });
      expect(await g.vol.readdir('/robucket')).toEqual(['f']);
    } finally {
      await g.cleanup();
    }
  });
});
