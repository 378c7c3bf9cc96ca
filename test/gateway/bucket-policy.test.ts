// Bucket policies, anonymous access and the public access block: a bucket made public by a policy
// serves unsigned GETs and nothing more; every other bucket refuses anonymous callers; a missing
// bucket is 404 to them as to anyone.
import {
  CreateBucketCommand, DeleteBucketPolicyCommand, DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand, GetBucketPolicyStatusCommand, GetPublicAccessBlockCommand, PutBucketPolicyCommand,
  PutObjectCommand, PutPublicAccessBlockCommand, GetObjectCommand,
} from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, errorCodeOf, rawRequest, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
let iam: IAMClient;

const publicRead = (bucket: string, extra: object = {}) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`], ...extra }],
});

const anonymous = (method: string, path: string, body?: string) => rawRequest(t.gw.url, method, path, body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }, body);

describe('bucket policies and anonymous access', () => {
  beforeAll(async () => {
    t = await startTestGateway();
    iam = new IAMClient({ endpoint: t.gw.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    for (const b of ['site', 'closed']) {
      await t.s3.send(new CreateBucketCommand({ Bucket: b }));
      await t.s3.send(new PutObjectCommand({ Bucket: b, Key: 'index.html', Body: '<h1>hi</h1>' }));
    }
  });

  afterAll(async () => {
    iam?.destroy();
    await t?.cleanup();
  });

  it('anonymous requests are denied by default, and a missing bucket is 404 to them', async () => {
    const r = await anonymous('GET', '/closed/index.html');
    expect([r.status, errorCodeOf(r.body)]).toEqual([403, 'AccessDenied']);
    const l = await anonymous('GET', '/closed');
    expect([l.status, errorCodeOf(l.body)]).toEqual([403, 'AccessDenied']);
    const missing = await anonymous('GET', '/no-such-bucket/index.html');
    expect([missing.status, errorCodeOf(missing.body)]).toEqual([404, 'NoSuchBucket']);
    const list = await anonymous('GET', '/');
    expect(list.status).toBe(403);
  });

  it('a public-read policy serves unsigned GETs of objects, and nothing else', async () => {
    await t.s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: publicRead('site') }));
    const r = await anonymous('GET', '/site/index.html');
    expect([r.status, r.body]).toEqual([200, '<h1>hi</h1>']);
    expect((await anonymous('GET', '/site')).status).toBe(403);
    expect((await anonymous('PUT', '/site/defaced.html', 'x')).status).toBe(403);
    expect((await anonymous('DELETE', '/site/index.html')).status).toBe(403);
    expect((await anonymous('GET', '/closed/index.html')).status).toBe(403);
    expect(JSON.parse((await t.s3.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy!)).toEqual(JSON.parse(publicRead('site')));
    expect((await t.s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'site' }))).PolicyStatus?.IsPublic).toBe(true);
  });

  it('a policy pinned to a source address is not public and serves only that address', async () => {
    await t.s3.send(new PutBucketPolicyCommand({ Bucket: 'closed', Policy: publicRead('closed', { Condition: { IpAddress: { 'aws:SourceIp': '10.1.2.0/24' } } }) }));
    expect((await t.s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'closed' }))).PolicyStatus?.IsPublic).toBe(false);
    expect((await anonymous('GET', '/closed/index.html')).status).toBe(403);
    await t.s3.send(new PutBucketPolicyCommand({ Bucket: 'closed', Policy: publicRead('closed', { Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }) }));
    expect((await anonymous('GET', '/closed/index.html')).status).toBe(200);
    await t.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'closed' }));
    expect((await anonymous('GET', '/closed/index.html')).status).toBe(403);
    expect((await s3Failure(t.s3.send(new GetBucketPolicyCommand({ Bucket: 'closed' })))).code).toBe('NoSuchBucketPolicy');
  });

  it('a bucket policy grants a named user; an explicit Deny in it binds even the owner-less grant', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'reader' }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'reader' }))).AccessKey!;
    const reader = t.client({ credentials: { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! } });
    const arn = `arn:aws:iam::${t.gw.core.iam.account}:user/reader`;
    expect((await s3Failure(reader.send(new GetObjectCommand({ Bucket: 'closed', Key: 'index.html' })))).code).toBe('AccessDenied');
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: 'closed',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: arn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::closed/*' },
          { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::closed/secret/*' },
        ],
      }),
    }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'closed', Key: 'secret/plan', Body: 'x' }));
    expect(await (await reader.send(new GetObjectCommand({ Bucket: 'closed', Key: 'index.html' }))).Body!.transformToString()).toBe('<h1>hi</h1>');
    expect((await s3Failure(reader.send(new GetObjectCommand({ Bucket: 'closed', Key: 'secret/plan' })))).code).toBe('AccessDenied');
    expect((await anonymous('GET', '/closed/index.html')).status).toBe(403);
  });

  it('the public access block refuses public policies and restricts public buckets', async () => {
    await t.s3.send(new PutPublicAccessBlockCommand({
      Bucket: 'site', PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: true },
    }));
    expect((await anonymous('GET', '/site/index.html')).status).toBe(403);
    expect((await t.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'site' }))).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: true,
    });
    await t.s3.send(new PutPublicAccessBlockCommand({
      Bucket: 'site', PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false },
    }));
    expect((await anonymous('GET', '/site/index.html')).status).toBe(200);
    expect((await s3Failure(t.s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: publicRead('site') })))).code).toBe('AccessDenied');
    await t.s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'site' }));
    expect((await s3Failure(t.s3.send(new GetPublicAccessBlockCommand({ Bucket: 'site' })))).code).toBe('NoSuchPublicAccessBlockConfiguration');
  });

  it('a bad policy is refused with a reason and the old one stays', async () => {
    const before = (await t.s3.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy;
    for (const bad of ['not json', '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}', publicRead('closed')]) {
      const e = await s3Failure(t.s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: bad })));
      expect([e.code, e.status]).toEqual(['MalformedPolicy', 400]);
    }
    expect((await t.s3.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy).toBe(before);
  });

  it('a public-looking address range is public: /00 and two /1 halves do not pin the caller', async () => {
    for (const ranges of [['0.0.0.0/00'], ['0.0.0.0/1', '128.0.0.0/1'], ['::/0']]) {
      const p = publicRead('closed', { Condition: { IpAddress: { 'aws:SourceIp': ranges } } });
      await t.s3.send(new PutBucketPolicyCommand({ Bucket: 'closed', Policy: p }));
      expect((await t.s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'closed' }))).PolicyStatus?.IsPublic, ranges.join(',')).toBe(true);
    }
    await t.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'closed', PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
    const e = await s3Failure(t.s3.send(new PutBucketPolicyCommand({ Bucket: 'closed', Policy: publicRead('closed', { Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/00' } } }) })));
    expect(e.code).toBe('AccessDenied');
    await t.s3.send(new DeletePublicAccessBlockCommand({ Bucket: 'closed' }));
    await t.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'closed' }));
  });

  it('anonymous callers never change a bucket\'s configuration, and a missing bucket is 404 to their writes too', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'careless' }));
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: 'careless',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::careless', 'arn:aws:s3:::careless/*'] }] }),
    }));
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::careless/*' }] });
    expect((await anonymous('PUT', '/careless?policy', policy)).status).toBe(403);
    expect((await anonymous('DELETE', '/careless?policy')).status).toBe(403);
    expect((await anonymous('DELETE', '/careless')).status).toBe(403);
    // What the policy does open, it opens.
    expect((await anonymous('PUT', '/careless/drop.txt', 'x')).status).toBe(200);
    const missing = await anonymous('PUT', '/no-such-bucket/x', 'x');
    expect([missing.status, errorCodeOf(missing.body)]).toEqual([404, 'NoSuchBucket']);
  });

  it('a service account stays narrowed where a bucket policy grants its user more', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'pipeline' }));
    const arn = `arn:aws:iam::${t.gw.core.iam.account}:user/pipeline`;
    await t.s3.send(new CreateBucketCommand({ Bucket: 'granted' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'granted', Key: 'k', Body: 'v' }));
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: 'granted',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: arn }, Action: 's3:*', Resource: ['arn:aws:s3:::granted', 'arn:aws:s3:::granted/*'] }] }),
    }));
    const svc = await t.gw.core.iam.createServiceAccount('pipeline', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    const s3 = t.client({ credentials: { accessKeyId: svc.accessKey, secretAccessKey: svc.secretKey } });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'granted', Key: 'k' }))).Body!.transformToString()).toBe('v');
    expect((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'granted', Key: 'k', Body: 'overwritten' })))).code).toBe('AccessDenied');
    expect((await s3Failure(s3.send(new DeleteBucketPolicyCommand({ Bucket: 'granted' })))).code).toBe('AccessDenied');
  });
  it('a wildcard resource that takes in the bucket is accepted; one that cannot is not', async () => {
    const wide = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*/*' }] });
    await t.s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: wide }));
    expect((await anonymous('GET', '/site/index.html')).status).toBe(200);
    const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other-*/*' }] });
    expect((await s3Failure(t.s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: other })))).code).toBe('MalformedPolicy');
    await t.s3.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
  });
  it('behind a trusted TLS proxy, X-Forwarded-Proto and -For set aws:SecureTransport and aws:SourceIp; from anyone else they are ignored', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tls/*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } },
        { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::tls/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ],
    });
    const behind = await startTestGateway({ trustedProxies: ['127.0.0.0/8'] });
    const direct = await startTestGateway();
    try {
      for (const g of [behind, direct]) {
        await g.s3.send(new CreateBucketCommand({ Bucket: 'tls' }));
        await g.s3.send(new PutObjectCommand({ Bucket: 'tls', Key: 'k', Body: 'v' }));
        await g.s3.send(new PutBucketPolicyCommand({ Bucket: 'tls', Policy: policy }));
      }
      const get = (g: TestGateway, headers: Record<string, string>) => rawRequest(g.gw.url, 'GET', '/tls/k', headers);
      const forwarded = { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1', 'X-Forwarded-Proto': 'https' };
      // 10.0.0.1 is not a trusted proxy: it is the nearest untrusted hop, so the client.
      expect((await get(behind, forwarded)).status).toBe(403);
      expect((await get(behind, { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' })).status).toBe(200);
      expect((await get(behind, { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'http' })).status).toBe(403);
      expect((await get(direct, { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' })).status).toBe(403);
    } finally {
      await behind.cleanup();
      await direct.cleanup();
    }
  });
});
