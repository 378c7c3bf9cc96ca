// Requests the gateway must refuse rather than half-serve: headers the signer never signed, a
// credential scope for another region, encryption it cannot give, bodies without a length, and
// response overrides that would split the answer. Each refusal is a 4xx/5xx S3 error, never a
// 500 with a stack, and nothing is written.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, errorCodeOf, rawRequest, s3Failure, SECRET_KEY, startTestGateway, type RawResponse, type TestGateway } from './harness.js';
import { signatureOf, signingKey, toAmzDate } from '../../src/gateway/sigv4.js';
import { signHeaders, type SignInput } from './signer.js';

let t: TestGateway;
const EMPTY = createHash('sha256').update('').digest('hex');

function signed(method: string, path: string, options: Partial<SignInput> = {}, extra: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const u = new URL(t.gw.url);
  const [p, q] = path.split('?');
  const s = signHeaders({
    method, path: p!, query: q, host: u.host, headers: {}, accessKey: ACCESS_KEY, secretKey: SECRET_KEY,
    payloadHash: body === undefined ? EMPTY : createHash('sha256').update(body).digest('hex'), ...options,
  });
  return rawRequest(t.gw.url, method, path, { ...s.headers, ...extra, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) }, body);
}

beforeAll(async () => {
  t = await startTestGateway();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'hard' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'hard', Key: 'src.txt', Body: 'source' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'hard', Key: 'obj.txt', Body: 'original' }));
});

afterAll(async () => {
  await t?.cleanup();
});

describe('signatures cover what a request does', () => {
  it('an x-amz-* header that was not signed is refused (a presigned PUT does not become a copy)', async () => {
    const url = await getSignedUrl(t.s3, new PutObjectCommand({ Bucket: 'hard', Key: 'obj.txt' }), { expiresIn: 60 });
    const r = await fetch(url, { method: 'PUT', headers: { 'x-amz-copy-source': '/hard/src.txt' } });
    const text = await r.text();
    expect([r.status, errorCodeOf(text)]).toEqual([403, 'AccessDenied']);
    expect(text).toContain('x-amz-copy-source');
    const header = await signed('GET', '/hard/obj.txt', {}, { 'x-amz-meta-added': 'later' });
    expect([header.status, errorCodeOf(header.body)]).toEqual([403, 'AccessDenied']);
    expect((await t.vol.readFile('/hard/obj.txt')).toString()).toBe('original');
  });

  it('a credential scope for another region is refused, naming the region expected', async () => {
    for (const region of ['eu-west-1', 'made-up']) {
      const r = await signed('GET', '/hard/obj.txt', { region });
      expect([r.status, errorCodeOf(r.body)], region).toEqual([400, 'AuthorizationHeaderMalformed']);
      expect(r.body).toContain('<Region>us-east-1</Region>');
    }
    const other = t.client({ region: 'eu-west-1' });
    expect(await s3Failure(other.send(new PutObjectCommand({ Bucket: 'hard', Key: 'obj.txt', Body: 'changed' })))).toMatchObject({ status: 400 });
    expect((await t.vol.readFile('/hard/obj.txt')).toString()).toBe('original');
  });
});

describe('what the gateway cannot do is refused, never silently skipped', () => {
  it('server-side encryption (SSE-S3, SSE-KMS, SSE-C) answers NotImplemented and stores nothing', async () => {
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: Buffer.alloc(32, 7).toString('base64') };
    for (const extra of [{ ServerSideEncryption: 'AES256' as const }, { ServerSideEncryption: 'aws:kms' as const }, ssec]) {
      expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'hard', Key: 'sse.txt', Body: 'secret', ...extra })))).toEqual({ code: 'NotImplemented', status: 501 });
    }
    expect(await t.vol.readdir('/hard')).not.toContain('sse.txt');
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'hard', Key: 'obj.txt', ...ssec })))).toEqual({ code: 'NotImplemented', status: 501 });
  });

  it('a body in bare HTTP chunks (no aws-chunked) answers NotImplemented naming Transfer-Encoding', async () => {
    const u = new URL(t.gw.url);
    const s = signHeaders({ method: 'PUT', path: '/hard/chunked.txt', host: u.host, headers: { 'transfer-encoding': 'chunked' }, payloadHash: 'UNSIGNED-PAYLOAD', accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    const r = await new Promise<RawResponse>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: '/hard/chunked.txt', headers: s.headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      });
      req.on('error', reject);
      req.write('hello');
      req.end();
    });
    expect([r.status, errorCodeOf(r.body)]).toEqual([501, 'NotImplemented']);
    expect(r.body).toContain('Transfer-Encoding');
    expect(await t.vol.readdir('/hard')).not.toContain('chunked.txt');
  });
});

describe('header bytes are signed as sent', () => {
  it('user metadata sent as UTF-8 is verified as the client signed it and comes back byte for byte', async () => {
    const value = 'Ünïcödé ✓';
    const u = new URL(t.gw.url);
    const amzDate = toAmzDate(Date.now());
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = { host: u.host, 'x-amz-content-sha256': EMPTY, 'x-amz-date': amzDate, 'x-amz-meta-name': value };
    // Signed as AWS's signers sign: over the UTF-8 bytes of the canonical request.
    const names = Object.keys(headers).sort();
    const canonical = `PUT\n/hard/utf8.txt\n\n${names.map((n) => `${n}:${headers[n]}\n`).join('')}\n${names.join(';')}\n${EMPTY}`;
    const scope = `${day}/us-east-1/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
    const signature = signatureOf(signingKey(SECRET_KEY, day, 'us-east-1', 's3'), toSign);
    // node:http sends one byte per character: the UTF-8 bytes go out as they are.
    const wire = Buffer.from(value, 'utf8').toString('latin1');
    const put = await rawRequest(t.gw.url, 'PUT', '/hard/utf8.txt', {
      ...headers, 'x-amz-meta-name': wire, 'content-length': 0,
      authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    });
    expect([put.status, errorCodeOf(put.body)]).toEqual([200, undefined]);
    const head = await signed('HEAD', '/hard/utf8.txt');
    expect(Buffer.from(String(head.headers['x-amz-meta-name']), 'latin1').toString('utf8')).toBe(value);
  });
});

describe('client errors are 4xx, not 500s', () => {
  it('a response override holding CR/LF is InvalidArgument; a NUL in a bucket name is NoSuchBucket', async () => {
    const r = await signed('GET', '/hard/obj.txt?response-content-type=a%0D%0Ab');
    expect([r.status, errorCodeOf(r.body)]).toEqual([400, 'InvalidArgument']);
    expect(r.headers['content-type']).not.toBe('a');
    const nul = await signed('GET', '/b%00/k');
    expect(nul.status).toBe(404);
  });
});

describe('CORS preflights', () => {
  it('are answered before authentication, as S3 answers a bucket without a CORS configuration', async () => {
    const bare = await rawRequest(t.gw.url, 'OPTIONS', '/hard/k');
    expect([bare.status, errorCodeOf(bare.body)]).toEqual([400, 'BadRequest']);
    const cors = await rawRequest(t.gw.url, 'OPTIONS', '/hard/k', { Origin: 'https://example.com', 'Access-Control-Request-Method': 'GET' });
    expect([cors.status, errorCodeOf(cors.body)]).toEqual([403, 'AccessForbidden']);
  });
});
