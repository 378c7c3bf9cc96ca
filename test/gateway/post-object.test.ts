// Browser form uploads (POST Object) as a web page makes them: a multipart/form-data form built
// with FormData and sent with fetch, its POST policy signed here with an HMAC chain of our own
// (not the gateway's), the stored object read back through the SDK and the volume.
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/index.js';
import { ACCESS_KEY, SECRET_KEY, errorCodeOf, md5Hex, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
const BUCKET = 'forms';
const PUBLIC = 'dropbox';
const REGION = 'us-east-1';
const TMP = '/.strata-gateway/tmp';

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** SigV4 of a POST policy: the hex HMAC of the base64 policy with the day's signing key. */
function signPolicy(secret: string, day: string, policy: string): string {
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), REGION), 's3'), 'aws4_request');
  return hmac(key, policy).toString('hex');
}

interface Signing {
  /** The form's fields before the policy (key included), each covered by an exact condition. */
  fields: Record<string, string>;
  /** Conditions instead of the exact ones for these fields (by field name), and more besides. */
  conditions?: unknown[];
  /** Fields no condition covers. */
  uncovered?: Record<string, string>;
  expiration?: Date;
  accessKey?: string;
  secretKey?: string;
  bucket?: string;
}

/** The fields of a signed form, in the order a page would send them. */
function signedForm(s: Signing): [string, string][] {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const accessKey = s.accessKey ?? ACCESS_KEY;
  const fields: Record<string, string> = {
    ...s.fields,
    'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    'x-amz-credential': `${accessKey}/${day}/${REGION}/s3/aws4_request`,
    'x-amz-date': amzDate,
  };
  const custom = new Set((s.conditions ?? []).filter(Array.isArray).map((c) => String(c[1]).slice(1).toLowerCase()));
  const conditions = [
    { bucket: s.bucket ?? BUCKET },
    ...Object.entries(fields).filter(([k]) => !custom.has(k.toLowerCase())).map(([k, v]) => ({ [k]: v })),
    ...(s.conditions ?? []),
  ];
  const expiration = (s.expiration ?? new Date(Date.now() + 3_600_000)).toISOString();
  const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString('base64');
  return [
    ...Object.entries(fields),
    ...Object.entries(s.uncovered ?? {}),
    ['policy', policy],
    ['x-amz-signature', signPolicy(s.secretKey ?? SECRET_KEY, day, policy)],
  ];
}

interface FilePart {
  data: Buffer | string;
  filename?: string;
  type?: string;
}

function post(fields: [string, string][], file: FilePart | null, bucket = BUCKET, url = t.gw.url): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of fields) form.append(k, v);
  if (file) form.append('file', new Blob([file.data], { type: file.type ?? 'application/octet-stream' }), file.filename ?? 'upload.bin');
  return fetch(`${url}/${bucket}`, { method: 'POST', body: form, redirect: 'manual' });
}

async function failure(r: Response): Promise<{ status: number; code: string | undefined; message: string | undefined }> {
  const body = await r.text();
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1]
    ?.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return { status: r.status, code: errorCodeOf(body), message };
}

async function read(bucket: string, key: string) {
  const r = await t.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { r, body: Buffer.from(await r.Body!.transformToByteArray()) };
}

async function absent(bucket: string, key: string): Promise<void> {
  expect((await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))).code).toBe('NotFound');
  expect(await t.vol.readdir(TMP)).toEqual([]);
}

beforeAll(async () => {
  t = await startTestGateway();
  await t.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await t.s3.send(new CreateBucketCommand({ Bucket: PUBLIC }));
});

afterEach(() => {
  // The pipeline logs every internal error (a 500): none may have happened.
  expect(t.logs.filter((l) => l.startsWith('request '))).toEqual([]);
});

afterAll(async () => {
  await t?.cleanup();
});

describe('signed form uploads', () => {
  it('store the file with the form\'s Content-Type and metadata (204 by default)', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const fields = signedForm({ fields: { key: 'docs/report.bin', 'Content-Type': 'application/x-report', 'x-amz-meta-owner': 'alice', 'Cache-Control': 'max-age=60' } });
    const r = await post(fields, { data, filename: 'report.bin' });
    expect(r.status).toBe(204);
    expect(r.headers.get('etag')).toBe(`"${md5Hex(data)}"`);
    const { r: got, body } = await read(BUCKET, 'docs/report.bin');
    expect(body.equals(data)).toBe(true);
    expect(got.ContentType).toBe('application/x-report');
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.Metadata).toEqual({ owner: 'alice' });
    expect(got.ETag).toBe(`"${md5Hex(data)}"`);
    expect(await t.vol.readdir(TMP)).toEqual([]);
  });

  it('success_action_status 201 answers a PostResponse document', async () => {
    const fields = signedForm({ fields: { key: 'docs/a b.txt', success_action_status: '201' } });
    const r = await post(fields, { data: 'hello form' });
    expect(r.status).toBe(201);
    const doc = await r.text();
    expect(doc).toContain('<PostResponse>');
    expect(/<Bucket>([^<]*)<\/Bucket>/.exec(doc)?.[1]).toBe(BUCKET);
    expect(/<Key>([^<]*)<\/Key>/.exec(doc)?.[1]).toBe('docs/a b.txt');
    expect(/<ETag>([^<]*)<\/ETag>/.exec(doc)?.[1]).toBe(`&quot;${md5Hex('hello form')}&quot;`);
    expect(/<Location>([^<]*)<\/Location>/.exec(doc)?.[1]).toBe(`${t.gw.url}/${BUCKET}/docs/a%20b.txt`);
    expect((await read(BUCKET, 'docs/a b.txt')).body.toString()).toBe('hello form');
  });

  it('success_action_redirect answers 303 to the page, naming bucket, key and ETag', async () => {
    const fields = signedForm({ fields: { key: 'docs/redirected.txt', success_action_redirect: 'https://app.example/done?from=form' } });
    const r = await post(fields, { data: 'bye' });
    expect(r.status).toBe(303);
    const to = new URL(r.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.example/done');
    expect(to.searchParams.get('from')).toBe('form');
    expect(to.searchParams.get('bucket')).toBe(BUCKET);
    expect(to.searchParams.get('key')).toBe('docs/redirected.txt');
    expect(to.searchParams.get('etag')).toBe(`"${md5Hex('bye')}"`);
  });

  it('${filename} in the key becomes the uploaded file\'s name', async () => {
    const fields = signedForm({ fields: { key: 'uploads/${filename}' }, conditions: [['starts-with', '$key', 'uploads/']] });
    const r = await post(fields, { data: 'picture', filename: 'été 2024.png' });
    expect(r.status).toBe(204);
    expect((await read(BUCKET, 'uploads/été 2024.png')).body.toString()).toBe('picture');
  });

  it('starts-with holds the field to a prefix (each type of a Content-Type list)', async () => {
    const conditions = [['starts-with', '$Content-Type', 'image/']];
    const ok = await post(signedForm({ fields: { key: 'img/a.png', 'Content-Type': 'image/png' }, conditions }), { data: 'png' });
    expect(ok.status).toBe(204);
    expect((await read(BUCKET, 'img/a.png')).r.ContentType).toBe('image/png');
    for (const type of ['text/plain', 'image/png,text/html']) {
      const bad = await post(signedForm({ fields: { key: 'img/b.png', 'Content-Type': type }, conditions }), { data: 'x' });
      const f = await failure(bad);
      expect([f.status, f.code]).toEqual([403, 'AccessDenied']);
      expect(f.message).toContain('Policy Condition failed');
    }
    await absent(BUCKET, 'img/b.png');
  });

  it('content-length-range: a larger file is refused as it streams and leaves nothing behind', async () => {
    const conditions = [['content-length-range', 10, 1024]];
    const big = await post(signedForm({ fields: { key: 'sized/big.bin' }, conditions }), { data: randomBytes(8 * 1024) });
    expect((await failure(big)).code).toBe('EntityTooLarge');
    expect(big.status).toBe(400);
    await absent(BUCKET, 'sized/big.bin');
    const small = await post(signedForm({ fields: { key: 'sized/small.bin' }, conditions }), { data: 'tiny' });
    expect(await failure(small)).toMatchObject({ status: 400, code: 'EntityTooSmall' });
    await absent(BUCKET, 'sized/small.bin');
    const fits = await post(signedForm({ fields: { key: 'sized/fits.bin' }, conditions }), { data: randomBytes(1024) });
    expect(fits.status).toBe(204);
  });

  it('an expired policy is refused', async () => {
    const r = await post(signedForm({ fields: { key: 'late.txt' }, expiration: new Date(Date.now() - 60_000) }), { data: 'x' });
    expect(await failure(r)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy expired.' });
    await absent(BUCKET, 'late.txt');
  });

  it('a signature made with another secret, or over another policy, is refused', async () => {
    const wrongSecret = await post(signedForm({ fields: { key: 'forged.txt' }, secretKey: 'not-the-secret-key' }), { data: 'x' });
    expect(await failure(wrongSecret)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    // The policy swapped for a laxer one after signing.
    const fields = signedForm({ fields: { key: 'forged.txt' } });
    const lax = Buffer.from(JSON.stringify({ expiration: '2099-01-01T00:00:00.000Z', conditions: [['starts-with', '$key', '']] })).toString('base64');
    const swapped = fields.map(([k, v]): [string, string] => [k, k === 'policy' ? lax : v]);
    expect(await failure(await post(swapped, { data: 'x' }))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    await absent(BUCKET, 'forged.txt');
  });

  it('a field the policy does not cover is refused; x-ignore-* fields need no condition', async () => {
    const r = await post(signedForm({ fields: { key: 'extra.txt' }, uncovered: { 'x-amz-meta-sneaky': 'yes' } }), { data: 'x' });
    expect(await failure(r)).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky' });
    await absent(BUCKET, 'extra.txt');
    const ignored = await post(signedForm({ fields: { key: 'extra.txt' }, uncovered: { 'x-ignore-tracking': '42' } }), { data: 'x' });
    expect(ignored.status).toBe(204);
  });

  it('a form without a key, or whose key comes after the file, is InvalidArgument', async () => {
    const noKey = signedForm({ fields: {} });
    expect(await failure(await post(noKey, { data: 'x' }))).toMatchObject({ status: 400, code: 'InvalidArgument' });
    // S3 reads nothing after the file.
    const form = new FormData();
    const fields = signedForm({ fields: { key: 'after-file.txt' } });
    for (const [k, v] of fields.filter(([k]) => k !== 'key')) form.append(k, v);
    form.append('file', new Blob(['x']), 'x.txt');
    form.append('key', 'after-file.txt');
    const late = await fetch(`${t.gw.url}/${BUCKET}`, { method: 'POST', body: form });
    const f = await failure(late);
    expect([f.status, f.code]).toEqual([400, 'InvalidArgument']);
    expect(f.message).toContain("field named 'key'");
    await absent(BUCKET, 'after-file.txt');
  });

  it('a policy that is not base64 JSON with an expiration is InvalidPolicyDocument', async () => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    for (const doc of ['not json', JSON.stringify({ conditions: [] }), JSON.stringify({ expiration: '2099-01-01T00:00:00.000Z', conditions: [['ends-with', '$key', 'x']] })]) {
      const policy = Buffer.from(doc).toString('base64');
      const fields: [string, string][] = [
        ['key', 'bad-policy.txt'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', `${ACCESS_KEY}/${day}/${REGION}/s3/aws4_request`],
        ['x-amz-date', amzDate], ['policy', policy], ['x-amz-signature', signPolicy(SECRET_KEY, day, policy)],
      ];
      expect(await failure(await post(fields, { data: 'x' }))).toMatchObject({ status: 400, code: 'InvalidPolicyDocument' });
    }
    await absent(BUCKET, 'bad-policy.txt');
  });

  it('the policy\'s signer must be allowed s3:PutObject', async () => {
    const iam = new IAMClient({ endpoint: t.gw.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    try {
      await iam.send(new CreateUserCommand({ UserName: 'uploader' }));
      const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'uploader' }))).AccessKey!;
      const form = () => signedForm({ fields: { key: 'users/uploader.txt' }, accessKey: k.AccessKeyId!, secretKey: k.SecretAccessKey! });
      expect(await failure(await post(form(), { data: 'mine' }))).toMatchObject({ status: 403, code: 'AccessDenied' });
      await absent(BUCKET, 'users/uploader.txt');
      await iam.send(new PutUserPolicyCommand({
        UserName: 'uploader', PolicyName: 'upload',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/users/*` }] }),
      }));
      expect((await post(form(), { data: 'mine' })).status).toBe(204);
      expect((await read(BUCKET, 'users/uploader.txt')).body.toString()).toBe('mine');
    } finally {
      iam.destroy();
    }
  });

  it('a client that disconnects mid-file leaves no object and no temp file', async () => {
    const boundary = '----strata-test-boundary';
    const fields = signedForm({ fields: { key: 'cut/short.bin' } });
    const head = Buffer.from([
      ...fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="short.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ].join(''));
    const u = new URL(t.gw.url);
    const req = request({
      host: u.hostname, port: u.port, method: 'POST', path: `/${BUCKET}`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + 4 * 1024 * 1024 },
    });
    req.on('error', () => undefined);
    req.write(head);
    req.write(randomBytes(256 * 1024));
    // Cut the connection once the upload is under way (its temp file exists).
    for (let i = 0; i < 200 && (await t.vol.readdir(TMP)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await t.vol.readdir(TMP)).length).toBe(1);
    req.destroy();
    for (let i = 0; i < 200 && (await t.vol.readdir(TMP)).length > 0; i++) await new Promise((r) => setTimeout(r, 25));
    await absent(BUCKET, 'cut/short.bin');
  });
});

describe('forms as other clients send them', () => {
  it('fields sent as parts with a filename (as Python requests sends every field) are fields', async () => {
    const form = new FormData();
    for (const [k, v] of signedForm({ fields: { key: 'as-files.txt' } })) form.append(k, new Blob([v]), k);
    form.append('file', new Blob(['sent by requests']), 'upload.bin');
    const r = await fetch(`${t.gw.url}/${BUCKET}`, { method: 'POST', body: form, redirect: 'manual' });
    expect(r.status).toBe(204);
    expect((await read(BUCKET, 'as-files.txt')).body.toString()).toBe('sent by requests');
  });

  it('a policy signed with Signature Version 2 (AWSAccessKeyId, base64 HMAC-SHA1) is accepted; a wrong one is not', async () => {
    const policy = Buffer.from(JSON.stringify({
      expiration: new Date(Date.now() + 3_600_000).toISOString(),
      conditions: [{ bucket: BUCKET }, ['starts-with', '$key', 'v2/']],
    })).toString('base64');
    const fields = (secret: string): [string, string][] => [
      ['key', 'v2/object.txt'], ['AWSAccessKeyId', ACCESS_KEY], ['policy', policy], ['signature', createHmac('sha1', secret).update(policy).digest('base64')],
    ];
    expect((await post(fields(SECRET_KEY), { data: 'v2 signed' })).status).toBe(204);
    expect((await read(BUCKET, 'v2/object.txt')).body.toString()).toBe('v2 signed');
    expect(await failure(await post(fields('not-the-secret'), { data: 'x' }))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    const unknown = fields(SECRET_KEY).map(([k, v]): [string, string] => [k, k === 'AWSAccessKeyId' ? 'NOSUCHKEY' : v]);
    expect(await failure(await post(unknown, { data: 'x' }))).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
  });

  it('a form whose policy names another bucket is refused by the policy', async () => {
    const r = await post(signedForm({ fields: { key: 'elsewhere.txt' }, bucket: PUBLIC }), { data: 'x' });
    expect(await failure(r)).toMatchObject({ status: 403, code: 'AccessDenied' });
    await absent(BUCKET, 'elsewhere.txt');
  });
});

describe('ACL fields of forms', () => {
  it('are what policies judge and need the right to set ACLs; the request\'s own headers count for nothing', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'owner-copy' }));
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: 'owner-copy',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{
        Effect: 'Allow', Principal: '*', Action: ['s3:PutObject', 's3:PutObjectAcl'], Resource: 'arn:aws:s3:::owner-copy/*',
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }] }),
    }));
    const send = (acl: string, headers: Record<string, string> = {}) => {
      const form = new FormData();
      form.append('key', 'dropped.txt');
      form.append('acl', acl);
      form.append('file', new Blob(['x']), 'x.bin');
      return fetch(`${t.gw.url}/owner-copy`, { method: 'POST', body: form, headers, redirect: 'manual' });
    };
    expect(await failure(await send('public-read', { 'x-amz-acl': 'bucket-owner-full-control' }))).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect((await send('bucket-owner-full-control')).status).toBe(204);
  });
});

describe('read-only gateways', () => {
  it('refuse a signed form upload as they refuse a PUT', async () => {
    const ro = await startGateway({ metaUrl: t.metaUrl, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, readOnly: true, log: () => undefined });
    try {
      const r = await post(signedForm({ fields: { key: 'ro.txt' } }), { data: 'x' }, BUCKET, ro.url);
      expect(await failure(r)).toMatchObject({ status: 403, code: 'AccessDenied' });
      await absent(BUCKET, 'ro.txt');
    } finally {
      await ro.close();
    }
  });
});

describe('unsigned form uploads', () => {
  it('are refused on a bucket no policy opens to anonymous writers', async () => {
    const r = await post([['key', 'anon.txt']], { data: 'x' });
    expect(await failure(r)).toMatchObject({ status: 403, code: 'AccessDenied' });
    await absent(BUCKET, 'anon.txt');
  });

  it('are accepted where the bucket policy allows everyone s3:PutObject', async () => {
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: PUBLIC,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${PUBLIC}/*` }] }),
    }));
    const r = await post([['key', 'inbox/${filename}'], ['Content-Type', 'text/plain']], { data: 'dropped off', filename: 'note.txt' }, PUBLIC);
    expect(r.status).toBe(204);
    const { r: got, body } = await read(PUBLIC, 'inbox/note.txt');
    expect(body.toString()).toBe('dropped off');
    expect(got.ContentType).toBe('text/plain');
    // Public write is not public read.
    expect((await fetch(`${t.gw.url}/${PUBLIC}/inbox/note.txt`)).status).toBe(403);
  });
});
