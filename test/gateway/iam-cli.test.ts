// `strata iam ...`, the built CLI run as a child process on a volume: what an operator does to
// give a team access, checked through a gateway on the same volume; and the errors that change
// nothing (no root secret, the wrong one, a bad policy file, an unknown user).
import { GetObjectCommand, PutObjectCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { Volume } from '../../src/index.js';
import { s3Failure } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = [join(ROOT, 'dist/src/cli/main.js')];
const SECRET = 'iam-cli-root-secret';

let dir: string;
let metaUrl: string;
const clients: S3Client[] = [];

function strata(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [...RUNNER, ...args], { encoding: 'utf8', timeout: 60_000, cwd: ROOT, env: { ...process.env, STRATA_GATEWAY_SECRET_KEY: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const iam = (...args: string[]) => strata({ STRATA_GATEWAY_SECRET_KEY: SECRET }, 'iam', ...args);

function json<T>(r: { code: number | null; out: string; err: string }): T {
  if (r.code !== 0) throw new Error(`strata exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

function client(gw: Gateway, accessKeyId: string, secretAccessKey: string): S3Client {
  const c = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  clients.push(c);
  return c;
}

describe('strata iam', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-iam-cli-'));
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'iamcli', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to work without the root secret, or with another one, and says which', async () => {
    const none = strata({}, 'iam', 'user', 'list', metaUrl);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/root secret key.*--secret-key or \$STRATA_GATEWAY_SECRET_KEY/);
    // Nothing sealed yet: the root secret may still change.
    expect(strata({ STRATA_GATEWAY_SECRET_KEY: 'an-earlier-secret' }, 'iam', 'user', 'list', metaUrl, '--json').code).toBe(0);
    expect(iam('user', 'add', metaUrl, 'probe', '--json').code).toBe(0);
    const wrong = strata({ STRATA_GATEWAY_SECRET_KEY: 'not-the-secret' }, 'iam', 'user', 'list', metaUrl);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/sealed under another root secret key/);
    expect(iam('user', 'rm', metaUrl, 'probe', '--force').code).toBe(0);
  });

  it('users, groups, managed policies and service accounts, as a gateway of the volume enforces them', async () => {
    const alice = json<{ user: string; accessKey: string; secretKey: string }>(iam('user', 'add', metaUrl, 'alice', '--json'));
    expect(alice.accessKey).toMatch(/^AKIA[A-Z2-7]{16}$/);
    const policyFile = join(dir, 'read-write.json');
    await writeFile(policyFile, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::data/*' }] }));
    json(iam('policy', 'add', metaUrl, 'data-rw', policyFile, '--description', 'read and write data', '--json'));
    json(iam('group', 'add', metaUrl, 'analysts', '--json'));
    json(iam('policy', 'attach', metaUrl, 'data-rw', '--group', 'analysts', '--json'));
    json(iam('group', 'join', metaUrl, 'analysts', 'alice', '--json'));
    const readOnly = join(dir, 'read-only.json');
    await writeFile(readOnly, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    const svc = json<{ accessKey: string; secretKey: string; parent: string }>(iam('svcacct', 'add', metaUrl, 'alice', '--policy', readOnly, '--json'));
    expect(svc.parent).toBe('alice');
    const users = json<{ name: string; groups: string[]; keys: { accessKey: string }[] }[]>(iam('user', 'list', metaUrl, '--json'));
    expect(users).toMatchObject([{ name: 'alice', groups: ['analysts'], keys: [{ accessKey: alice.accessKey }] }]);
    // Secrets are printed once and never listed.
    expect(JSON.stringify(users)).not.toContain(alice.secretKey);
    expect(iam('svcacct', 'list', metaUrl).out).not.toContain(svc.secretKey);

    const gw = await startGateway({ metaUrl, accessKey: 'IAMCLIROOT', secretKey: SECRET, log: () => undefined });
    try {
      await client(gw, 'IAMCLIROOT', SECRET).send(new CreateBucketCommand({ Bucket: 'data' }));
      const asAlice = client(gw, alice.accessKey, alice.secretKey);
      await asAlice.send(new PutObjectCommand({ Bucket: 'data', Key: 'k', Body: 'v' }));
      const asSvc = client(gw, svc.accessKey, svc.secretKey);
      expect(await (await asSvc.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' }))).Body!.transformToString()).toBe('v');
      expect((await s3Failure(asSvc.send(new PutObjectCommand({ Bucket: 'data', Key: 'k2', Body: 'v' })))).code).toBe('AccessDenied');
      json(iam('user', 'disable', metaUrl, 'alice', '--json'));
      // The gateway re-reads the store within a second of a change made elsewhere.
      let code = '';
      for (let i = 0; i < 40 && code !== 'InvalidAccessKeyId'; i++) {
        code = await asAlice.send(new GetObjectCommand({ Bucket: 'data', Key: 'k' })).then(() => 'ok', (e: { name: string }) => e.name);
        if (code !== 'InvalidAccessKeyId') await new Promise((r) => setTimeout(r, 100));
      }
      expect(code).toBe('InvalidAccessKeyId');
    } finally {
      await gw.close();
    }
  });

  it('bad input changes nothing and says what is wrong', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}');
    const r = iam('policy', 'add', metaUrl, 'broken', bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/MalformedPolicyDocument: .*Resource/);
    expect(json<{ name: string }[]>(iam('policy', 'list', metaUrl, '--json')).map((p) => p.name)).toEqual(['data-rw']);
    const unknown = iam('policy', 'attach', metaUrl, 'data-rw', '--user', 'nobody');
    expect([unknown.code, /NoSuchEntity/.test(unknown.err)]).toEqual([1, true]);
    const both = iam('policy', 'attach', metaUrl, 'data-rw', '--user', 'alice', '--group', 'analysts');
    expect([both.code, /exactly one of --user and --group/.test(both.err)]).toEqual([2, true]);
    const inUse = iam('policy', 'rm', metaUrl, 'data-rw');
    expect([inUse.code, /DeleteConflict: .*group analysts/.test(inUse.err)]).toEqual([1, true]);
    const taken = iam('user', 'add', metaUrl, 'Alice');
    expect([taken.code, /EntityAlreadyExists/.test(taken.err)]).toEqual([1, true]);
  });
});
