// awscli against the gateway's IAM and STS endpoints, unchanged: an operator creates a user, a
// managed policy and a key with `aws iam`, the user works with `aws s3` under its own key, and
// assumes a narrower session with `aws sts assume-role`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awscli, runAws, type AwsKeys as Keys } from './aws-cli.js';
import { ACCESS_KEY, SECRET_KEY, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
let work: string;

const aws = (keys: Keys, input: string | null, ...args: string[]) => runAws(t.gw.url, work, keys, input, ['--output', 'json', ...args]);

async function ok(keys: Keys, ...args: string[]): Promise<string> {
  const r = await aws(keys, null, ...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out;
}

const ROOT: Keys = { id: ACCESS_KEY, secret: SECRET_KEY };

describe.skipIf(awscli.skip)('aws iam / aws sts against the gateway', () => {
  beforeAll(() => awscli.check());
  beforeAll(async () => {
    t = await startTestGateway();
    work = await mkdtemp(join(tmpdir(), 'strata-iam-awscli-'));
  });

  afterAll(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a user made with aws iam works with aws s3 within its policy, and assumes a narrower session', async () => {
    await ok(ROOT, 's3', 'mb', 's3://reports');
    await ok(ROOT, 'iam', 'create-user', '--user-name', 'analyst');
    const doc = join(work, 'policy.json');
    await writeFile(doc, JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::reports' },
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::reports/*' },
      ],
    }));
    const created = JSON.parse(await ok(ROOT, 'iam', 'create-policy', '--policy-name', 'reports-rw', '--policy-document', `file://${doc}`)) as { Policy: { Arn: string } };
    await ok(ROOT, 'iam', 'attach-user-policy', '--user-name', 'analyst', '--policy-arn', created.Policy.Arn);
    const key = (JSON.parse(await ok(ROOT, 'iam', 'create-access-key', '--user-name', 'analyst')) as { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }).AccessKey;
    const analyst: Keys = { id: key.AccessKeyId, secret: key.SecretAccessKey };
    const me = JSON.parse(await ok(analyst, 'sts', 'get-caller-identity')) as { Arn: string };
    expect(me.Arn).toMatch(/:user\/analyst$/);

    const put = await aws(analyst, 'q3 numbers', 's3', 'cp', '-', 's3://reports/q3.txt');
    expect(put.code, put.err).toBe(0);
    expect(await ok(analyst, 's3', 'ls', 's3://reports/')).toMatch(/q3\.txt/);
    const denied = await aws(analyst, null, 's3', 'mb', 's3://analysts-own');
    expect([denied.code, /AccessDenied/.test(denied.err)]).toEqual([1, true]);
    const iamDenied = await aws(analyst, null, 'iam', 'list-users');
    expect(iamDenied.code).not.toBe(0);
    expect(iamDenied.err).toMatch(/AccessDenied/);

    const session = JSON.parse(await ok(analyst, 'sts', 'assume-role', '--role-arn', 'arn:aws:iam::000000000000:role/read-only', '--role-session-name', 'ci',
      '--policy', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }))) as {
      Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    };
    const narrowed: Keys = { id: session.Credentials.AccessKeyId, secret: session.Credentials.SecretAccessKey, token: session.Credentials.SessionToken };
    expect(await ok(narrowed, 's3', 'cp', 's3://reports/q3.txt', '-')).toBe('q3 numbers');
    const write = await aws(narrowed, 'x', 's3', 'cp', '-', 's3://reports/q4.txt');
    expect([write.code, /AccessDenied/.test(write.err)]).toEqual([1, true]);
    const users = JSON.parse(await ok(ROOT, 'iam', 'list-users')) as { Users: { UserName: string }[] };
    expect(users.Users.map((u) => u.UserName)).toEqual(['analyst']);
  });
});
