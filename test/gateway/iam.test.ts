// Many users on one gateway, driven as a team would drive it: the IAM and STS APIs through the
// AWS SDK, then S3 with each identity's own credentials. Covers policy inheritance through
// groups, explicit deny, service accounts narrowed by their policy, temporary credentials with a
// session policy and an expiry, disabled users, bucket owners, and deny-by-default.
import {
  AddUserToGroupCommand, AttachGroupPolicyCommand, AttachUserPolicyCommand, CreateAccessKeyCommand, CreateGroupCommand,
  CreatePolicyCommand, CreateUserCommand, DeletePolicyCommand, DeleteUserCommand, DetachUserPolicyCommand, GetGroupCommand,
  GetPolicyVersionCommand, GetUserCommand, GetUserPolicyCommand, IAMClient, ListAccessKeysCommand, ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand, ListUsersCommand, PutGroupPolicyCommand, PutUserPolicyCommand, UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListBucketsCommand, ListObjectsV2Command,
  PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/index.js';
import { ACCESS_KEY, SECRET_KEY, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
let clock = 0;
let iam: IAMClient;
let sts: STSClient;
const clients: { destroy(): void }[] = [];

const BUCKET = 'team';

function policy(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

function iamAs(accessKeyId: string, secretAccessKey: string, sessionToken?: string): IAMClient {
  const c = new IAMClient({ endpoint: t.gw.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey, sessionToken }, maxAttempts: 1 });
  clients.push(c);
  return c;
}

function stsAs(accessKeyId: string, secretAccessKey: string, sessionToken?: string): STSClient {
  const c = new STSClient({ endpoint: t.gw.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey, sessionToken }, maxAttempts: 1 });
  clients.push(c);
  return c;
}

function s3As(accessKeyId: string, secretAccessKey: string, sessionToken?: string, offsetMs = 0): S3Client {
  return t.client({ credentials: { accessKeyId, secretAccessKey, sessionToken }, systemClockOffset: offsetMs });
}

async function newUser(name: string): Promise<{ s3: S3Client; accessKey: string; secretKey: string }> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { s3: s3As(k.AccessKeyId!, k.SecretAccessKey!), accessKey: k.AccessKeyId!, secretKey: k.SecretAccessKey! };
}

async function code(p: Promise<unknown>): Promise<string> {
  return (await s3Failure(p)).code;
}

async function iamCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    // The SDK names modelled errors by class ("NoSuchEntityException" for wire code NoSuchEntity).
    return (err as { name: string }).name.replace(/Exception$/, '');
  }
  throw new Error('the call succeeded');
}

const put = (s3: S3Client, key: string, body = key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const get = async (s3: S3Client, key: string) => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();

describe('gateway IAM: users, groups, policies, service accounts, sessions', () => {
  beforeAll(async () => {
    t = await startTestGateway({ now: () => Date.now() + clock });
    iam = iamAs(ACCESS_KEY, SECRET_KEY);
    sts = stsAs(ACCESS_KEY, SECRET_KEY);
    await t.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await put(t.s3, 'shared/readme.txt', 'hello team');
    await put(t.s3, 'private/secret.txt', 'root only');
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await t?.cleanup();
  });

  it('a new user may do nothing until a policy allows it (deny by default)', async () => {
    const u = await newUser('nobody');
    expect(await code(u.s3.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toBe('AccessDenied');
    expect(await code(get(u.s3, 'shared/readme.txt'))).toBe('AccessDenied');
    expect(await code(put(u.s3, 'shared/x'))).toBe('AccessDenied');
    expect(await code(u.s3.send(new CreateBucketCommand({ Bucket: 'nobodys' })))).toBe('AccessDenied');
    // Its IAM calls are denied as well; it may still ask who it is.
    expect(await iamCode(iamAs(u.accessKey, u.secretKey).send(new ListUsersCommand({})))).toBe('AccessDenied');
    const me = await stsAs(u.accessKey, u.secretKey).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toMatch(/^arn:aws:iam::\d{12}:user\/nobody$/);
  });

  it('a user gets the union of its own and its groups\' policies, and an explicit Deny wins', async () => {
    const alice = await newUser('alice');
    await iam.send(new CreateGroupCommand({ GroupName: 'readers' }));
    const readers = await iam.send(new CreatePolicyCommand({
      PolicyName: 'read-shared',
      PolicyDocument: policy(
        { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}`, Condition: { StringLike: { 's3:prefix': ['shared/*', 'home/${aws:username}/*'] } } },
      ),
    }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: 'readers', PolicyArn: readers.Policy!.Arn }));
    expect(await code(get(alice.s3, 'shared/readme.txt'))).toBe('AccessDenied');
    await iam.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'alice' }));
    expect(await get(alice.s3, 'shared/readme.txt')).toBe('hello team');
    // s3:prefix condition: listing shared/ is allowed, listing everything is not.
    expect((await alice.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'shared/' }))).KeyCount).toBe(1);
    expect(await code(alice.s3.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toBe('AccessDenied');
    // Her own inline policy lets her write her home only (a policy variable).
    await iam.send(new PutUserPolicyCommand({
      UserName: 'alice', PolicyName: 'own-home',
      PolicyDocument: policy({ Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${BUCKET}/home/\${aws:username}/*` }),
    }));
    await put(alice.s3, 'home/alice/notes.txt', 'mine');
    expect(await code(put(alice.s3, 'home/bob/notes.txt'))).toBe('AccessDenied');
    expect(await code(put(alice.s3, 'shared/graffiti.txt'))).toBe('AccessDenied');
    expect((await alice.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'home/alice/' }))).KeyCount).toBe(1);
    // A group's explicit Deny beats her Allow.
    await iam.send(new PutGroupPolicyCommand({
      GroupName: 'readers', PolicyName: 'no-private',
      PolicyDocument: policy({ Effect: 'Deny', Action: 's3:*', Resource: [`arn:aws:s3:::${BUCKET}/private/*`, `arn:aws:s3:::${BUCKET}/home/*/secret*`] }),
    }));
    expect(await code(get(alice.s3, 'private/secret.txt'))).toBe('AccessDenied');
    expect(await code(put(alice.s3, 'home/alice/secret.txt'))).toBe('AccessDenied');
    // What the API reports matches.
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: 'alice' }))).Groups!.map((g) => g.GroupName)).toEqual(['readers']);
    expect((await iam.send(new GetGroupCommand({ GroupName: 'readers' }))).Users!.map((u) => u.UserName)).toEqual(['alice']);
    const inline = await iam.send(new GetUserPolicyCommand({ UserName: 'alice', PolicyName: 'own-home' }));
    expect(JSON.parse(decodeURIComponent(inline.PolicyDocument!)).Statement[0].Resource).toBe(`arn:aws:s3:::${BUCKET}/home/\${aws:username}/*`);
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: readers.Policy!.Arn, VersionId: 'v1' }));
    expect(JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)).Statement).toHaveLength(2);
  });

  it('DeleteObjects is authorized key by key', async () => {
    const bob = await newUser('bob');
    await iam.send(new PutUserPolicyCommand({
      UserName: 'bob', PolicyName: 'scratch',
      PolicyDocument: policy({ Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${BUCKET}/scratch/*` }),
    }));
    await put(bob.s3, 'scratch/a');
    const r = await bob.s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'scratch/a' }, { Key: 'shared/readme.txt' }] } }));
    expect(r.Deleted?.map((d) => d.Key)).toEqual(['scratch/a']);
    expect(r.Errors?.map((e) => [e.Key, e.Code])).toEqual([['shared/readme.txt', 'AccessDenied']]);
    expect(await get(t.s3, 'shared/readme.txt')).toBe('hello team');
  });

  it('a service account is its user narrowed by its own policy, never widened', async () => {
    await newUser('carol');
    await iam.send(new PutUserPolicyCommand({
      UserName: 'carol', PolicyName: 'rw',
      PolicyDocument: policy({ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${BUCKET}/*` }),
    }));
    const svc = await t.gw.core.iam.createServiceAccount('carol', policy({ Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${BUCKET}/*` }), 'etl job');
    const s3 = s3As(svc.accessKey, svc.secretKey);
    expect(await get(s3, 'shared/readme.txt')).toBe('hello team');
    // Carol may put, the account's policy does not allow it.
    expect(await code(put(s3, 'shared/by-svc'))).toBe('AccessDenied');
    // The account's policy allows delete, Carol does not.
    expect(await code(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'shared/readme.txt' })))).toBe('AccessDenied');
    // Without a policy it is Carol.
    const plain = await t.gw.core.iam.createServiceAccount('carol');
    await put(s3As(plain.accessKey, plain.secretKey), 'shared/by-plain-svc');
    // Disabled, it is nobody.
    await t.gw.core.iam.setServiceAccountStatus(svc.accessKey, 'Inactive');
    expect(await code(get(s3, 'shared/readme.txt'))).toBe('InvalidAccessKeyId');
  });

  it('AssumeRole credentials carry the caller narrowed by the session policy, and expire', async () => {
    const dave = await newUser('dave');
    await iam.send(new PutUserPolicyCommand({
      UserName: 'dave', PolicyName: 'rw',
      PolicyDocument: policy({ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${BUCKET}/*` }),
    }));
    const r = await stsAs(dave.accessKey, dave.secretKey).send(new AssumeRoleCommand({
      RoleArn: 'arn:aws:iam::000000000000:role/reader', RoleSessionName: 'nightly', DurationSeconds: 900,
      Policy: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/shared/*` }),
    }));
    const c = r.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA/);
    expect(c.Expiration!.getTime() - Date.now()).toBeGreaterThan(800_000);
    const s3 = s3As(c.AccessKeyId!, c.SecretAccessKey!, c.SessionToken);
    expect(await get(s3, 'shared/readme.txt')).toBe('hello team');
    expect(await code(put(s3, 'shared/by-session'))).toBe('AccessDenied');
    expect(await code(get(s3, 'private/secret.txt'))).toBe('AccessDenied');
    // A token that was tampered with, or that belongs to other keys, is refused.
    const tampered = `${c.SessionToken!.slice(0, -4)}${c.SessionToken!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(await code(get(s3As(c.AccessKeyId!, c.SecretAccessKey!, tampered), 'shared/readme.txt'))).toBe('InvalidToken');
    // Sessions cannot mint sessions.
    expect(await iamCode(stsAs(c.AccessKeyId!, c.SecretAccessKey!, c.SessionToken).send(new GetSessionTokenCommand({})))).toBe('AccessDenied');
    // Fifteen minutes later (both clocks moved, so the signature is on time) the token has expired.
    clock = 901_000;
    try {
      expect(await code(get(s3As(c.AccessKeyId!, c.SecretAccessKey!, c.SessionToken, clock), 'shared/readme.txt'))).toBe('ExpiredToken');
    } finally {
      clock = 0;
    }
    // GetSessionToken: the user as such, until the user is deleted.
    const st = (await stsAs(dave.accessKey, dave.secretKey).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!;
    const s3b = s3As(st.AccessKeyId!, st.SecretAccessKey!, st.SessionToken);
    await put(s3b, 'shared/by-dave-session');
    await t.gw.core.iam.deleteUser('dave', true);
    expect(await code(get(s3b, 'shared/readme.txt'))).toBe('InvalidToken');
    expect(await code(get(dave.s3, 'shared/readme.txt'))).toBe('InvalidAccessKeyId');
  });

  it('inactive keys and disabled users are refused; re-enabled they work again', async () => {
    const erin = await newUser('erin');
    await iam.send(new PutUserPolicyCommand({ UserName: 'erin', PolicyName: 'read', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) }));
    expect(await get(erin.s3, 'shared/readme.txt')).toBe('hello team');
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'erin', AccessKeyId: erin.accessKey, Status: 'Inactive' }));
    expect(await code(get(erin.s3, 'shared/readme.txt'))).toBe('InvalidAccessKeyId');
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'erin', AccessKeyId: erin.accessKey, Status: 'Active' }));
    await t.gw.core.iam.setUserEnabled('erin', false);
    expect(await code(get(erin.s3, 'shared/readme.txt'))).toBe('InvalidAccessKeyId');
    await t.gw.core.iam.setUserEnabled('erin', true);
    expect(await get(erin.s3, 'shared/readme.txt')).toBe('hello team');
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'erin' }))).AccessKeyMetadata!.map((k) => k.Status)).toEqual(['Active']);
  });

  it('a user who creates a bucket owns it; others see neither it nor its objects', async () => {
    const frank = await newUser('frank');
    const grace = await newUser('grace');
    const create = policy({ Effect: 'Allow', Action: 's3:CreateBucket', Resource: '*' });
    await iam.send(new PutUserPolicyCommand({ UserName: 'frank', PolicyName: 'create', PolicyDocument: create }));
    await iam.send(new PutUserPolicyCommand({ UserName: 'grace', PolicyName: 'create', PolicyDocument: create }));
    await frank.s3.send(new CreateBucketCommand({ Bucket: 'franks' }));
    await frank.s3.send(new PutObjectCommand({ Bucket: 'franks', Key: 'k', Body: 'v' }));
    expect((await frank.s3.send(new ListObjectsV2Command({ Bucket: 'franks' }))).KeyCount).toBe(1);
    expect((await frank.s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual(['franks']);
    expect((await grace.s3.send(new ListBucketsCommand({}))).Buckets).toEqual([]);
    expect(await code(grace.s3.send(new GetObjectCommand({ Bucket: 'franks', Key: 'k' })))).toBe('AccessDenied');
    expect(await code(grace.s3.send(new CreateBucketCommand({ Bucket: 'franks' })))).toBe('BucketAlreadyExists');
    // Root sees every bucket.
    expect((await t.s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual(['franks', BUCKET]);
  });

  it('IAM errors say what is wrong and change nothing', async () => {
    expect(await iamCode(iam.send(new CreateUserCommand({ UserName: 'alice' })))).toBe('EntityAlreadyExists');
    expect(await iamCode(iam.send(new CreateUserCommand({ UserName: 'ALICE' })))).toBe('EntityAlreadyExists');
    expect(await iamCode(iam.send(new GetUserCommand({ UserName: 'zed' })))).toBe('NoSuchEntity');
    expect(await iamCode(iam.send(new CreateUserCommand({ UserName: 'bad name!' })))).toBe('ValidationError');
    expect(await iamCode(iam.send(new CreatePolicyCommand({ PolicyName: 'broken', PolicyDocument: '{"Statement": [{"Effect": "Maybe"}]}' })))).toBe('MalformedPolicyDocument');
    expect(await iamCode(iam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'p', PolicyDocument: 'not json' })))).toBe('MalformedPolicyDocument');
    // A user with things attached, and an attached policy, cannot be deleted.
    expect(await iamCode(iam.send(new DeleteUserCommand({ UserName: 'alice' })))).toBe('DeleteConflict');
    const p = await iam.send(new CreatePolicyCommand({ PolicyName: 'tmp', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'alice', PolicyArn: p.Policy!.Arn }));
    expect(await iamCode(iam.send(new DeletePolicyCommand({ PolicyArn: p.Policy!.Arn })))).toBe('DeleteConflict');
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'alice' }))).AttachedPolicies!.map((a) => a.PolicyName)).toEqual(['tmp']);
    await iam.send(new DetachUserPolicyCommand({ UserName: 'alice', PolicyArn: p.Policy!.Arn }));
    await iam.send(new DeletePolicyCommand({ PolicyArn: p.Policy!.Arn }));
    expect((await iam.send(new ListUsersCommand({}))).Users!.map((u) => u.UserName)).toContain('alice');
    const root = await sts.send(new GetCallerIdentityCommand({}));
    expect(root.Arn).toBe(`arn:aws:iam::${root.Account}:root`);
  });

  it('no secret is stored in plaintext: not in the metadata database, not in the change log', async () => {
    const { secretKey } = await newUser('henry');
    const svc = await t.gw.core.iam.createServiceAccount('henry');
    const files = (await readdir(t.dir)).filter((f) => f.startsWith('meta.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = await readFile(join(t.dir, f));
      expect(bytes.includes(Buffer.from(secretKey)), `${f} holds a user's secret key`).toBe(false);
      expect(bytes.includes(Buffer.from(svc.secretKey)), `${f} holds a service account's secret key`).toBe(false);
      expect(bytes.includes(Buffer.from(SECRET_KEY)), `${f} holds the root secret key`).toBe(false);
    }
  });

  it('another gateway of the volume sees the same identities; one with another root secret refuses to start', async () => {
    const other = await startGateway({ metaUrl: t.metaUrl, accessKey: 'OTHERROOT', secretKey: SECRET_KEY, log: () => undefined });
    try {
      const ivy = await newUser('ivy');
      await iam.send(new PutUserPolicyCommand({ UserName: 'ivy', PolicyName: 'read', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) }));
      const there = t.client({ endpoint: other.url, credentials: { accessKeyId: ivy.accessKey, secretAccessKey: ivy.secretKey } });
      // Seen there within the store's refresh time.
      let body: string | null = null;
      for (let i = 0; i < 40 && body === null; i++) {
        body = await there.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'shared/readme.txt' })).then((r) => r.Body!.transformToString(), () => null);
        if (body === null) await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toBe('hello team');
    } finally {
      await other.close();
    }
    await expect(startGateway({ metaUrl: t.metaUrl, accessKey: 'THIRDROOT', secretKey: 'another-root-secret', log: () => undefined }))
      .rejects.toThrow(/sealed under another root secret key/);
  });
  it('a review\'s findings stay fixed: names are judged as stored, sessions manage no identities, tags need tagging rights', async () => {
    // A Deny on the stored spelling binds whatever spelling a request uses.
    await iam.send(new CreateUserCommand({ UserName: 'Admin' }));
    const deputy = await newUser('deputy');
    await iam.send(new PutUserPolicyCommand({
      UserName: 'deputy', PolicyName: 'delegated',
      PolicyDocument: policy(
        { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
        { Effect: 'Deny', Action: 'iam:*', Resource: 'arn:aws:iam::*:user/Admin' },
        { Effect: 'Deny', Action: ['iam:AttachUserPolicy', 'iam:AttachGroupPolicy'], Resource: '*', Condition: { ArnNotEquals: { 'iam:PolicyARN': 'arn:aws:iam::*:policy/harmless' } } },
      ),
    }));
    const asDeputy = iamAs(deputy.accessKey, deputy.secretKey);
    expect(await iamCode(asDeputy.send(new CreateAccessKeyCommand({ UserName: 'admin' })))).toBe('AccessDenied');
    expect(await iamCode(asDeputy.send(new CreateAccessKeyCommand({ UserName: 'ADMIN' })))).toBe('AccessDenied');
    // iam:PolicyARN: the delegated admin cannot attach a powerful policy, to others or itself.
    const god = await iam.send(new CreatePolicyCommand({ PolicyName: 'god', PolicyDocument: policy({ Effect: 'Allow', Action: '*', Resource: '*' }) }));
    expect(await iamCode(asDeputy.send(new AttachUserPolicyCommand({ UserName: 'deputy', PolicyArn: god.Policy!.Arn })))).toBe('AccessDenied');
    // A policy ARN must name the policy's path too.
    expect(await iamCode(iam.send(new AttachUserPolicyCommand({ UserName: 'deputy', PolicyArn: god.Policy!.Arn!.replace(':policy/', ':policy/team/') })))).toBe('NoSuchEntity');
    // Temporary credentials manage no identities, even where the user's policy would allow it.
    const st = (await stsAs(deputy.accessKey, deputy.secretKey).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!;
    expect(await iamCode(iamAs(st.AccessKeyId!, st.SecretAccessKey!, st.SessionToken).send(new CreateAccessKeyCommand({})))).toBe('AccessDenied');
    // An inline policy named like an Object.prototype member is a policy like any other.
    await iam.send(new PutUserPolicyCommand({ UserName: 'deputy', PolicyName: '__proto__', PolicyDocument: policy({ Effect: 'Deny', Action: 's3:*', Resource: '*' }) }));
    expect(await iamCode(iam.send(new GetUserPolicyCommand({ UserName: 'deputy', PolicyName: 'constructor' })))).toBe('NoSuchEntity');
    expect(JSON.parse(decodeURIComponent((await iam.send(new GetUserPolicyCommand({ UserName: 'deputy', PolicyName: '__proto__' }))).PolicyDocument!)).Statement[0].Effect).toBe('Deny');
    expect(await code(get(deputy.s3, 'shared/readme.txt'))).toBe('AccessDenied');
    // Setting tags with an object needs s3:PutObjectTagging as well as s3:PutObject.
    const tagger = await newUser('tagger');
    await iam.send(new PutUserPolicyCommand({ UserName: 'tagger', PolicyName: 'put', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/*` }) }));
    await put(tagger.s3, 'shared/untagged');
    expect(await code(tagger.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared/tagged', Body: 'x', Tagging: 'clearance=top' })))).toBe('AccessDenied');
  });

  it('sessions end with the key that asked for them, and a user made again under an old name is not the old user', async () => {
    const kim = await newUser('kim');
    const create = policy({ Effect: 'Allow', Action: ['s3:CreateBucket', 's3:GetObject'], Resource: '*' });
    await iam.send(new PutUserPolicyCommand({ UserName: 'kim', PolicyName: 'p', PolicyDocument: create }));
    await kim.s3.send(new CreateBucketCommand({ Bucket: 'kims' }));
    await kim.s3.send(new PutObjectCommand({ Bucket: 'kims', Key: 'diary', Body: 'dear diary' }));
    const st = (await stsAs(kim.accessKey, kim.secretKey).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!;
    const session = s3As(st.AccessKeyId!, st.SecretAccessKey!, st.SessionToken);
    expect(await (await session.send(new GetObjectCommand({ Bucket: 'kims', Key: 'diary' }))).Body!.transformToString()).toBe('dear diary');
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'kim', AccessKeyId: kim.accessKey, Status: 'Inactive' }));
    expect(await code(session.send(new GetObjectCommand({ Bucket: 'kims', Key: 'diary' })))).toBe('InvalidToken');
    await iam.send(new UpdateAccessKeyCommand({ UserName: 'kim', AccessKeyId: kim.accessKey, Status: 'Active' }));
    const st2 = (await stsAs(kim.accessKey, kim.secretKey).send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!;
    await t.gw.core.iam.deleteUser('kim', true);
    const again = await newUser('kim');
    await iam.send(new PutUserPolicyCommand({ UserName: 'kim', PolicyName: 'p', PolicyDocument: policy({ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }) }));
    // The old session does not come back to life, and the new kim owns nothing of the old one's.
    expect(await code(get(s3As(st2.AccessKeyId!, st2.SecretAccessKey!, st2.SessionToken), 'shared/readme.txt'))).toBe('InvalidToken');
    expect(await code(again.s3.send(new GetObjectCommand({ Bucket: 'kims', Key: 'diary' })))).toBe('AccessDenied');
  });

  it('changes from two clients of the volume at once both land (the store is locked across processes)', async () => {
    const { Volume } = await import('../../src/index.js');
    const { IamStore } = await import('../../src/iam/store.js');
    const vols = await Promise.all([Volume.open(t.metaUrl, { client: 'iam-a' }), Volume.open(t.metaUrl, { client: 'iam-b' })]);
    try {
      const stores = await Promise.all(vols.map((v) => IamStore.open({ vfs: v.vfs, caller: v.caller }, SECRET_KEY)));
      await stores[0]!.createUser('lee');
      const groups = Array.from({ length: 8 }, (_, i) => `g${i}`);
      for (const g of groups) await stores[i(g) % 2]!.createGroup(g);
      // Eight memberships of one user, from two clients alternately, all at once.
      await Promise.all(groups.map((g) => stores[i(g) % 2]!.setMembership('lee', g, true)));
      const snap = await stores[0]!.snapshot();
      expect([...snap.users.get('lee')!.groups].sort()).toEqual(groups);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await Promise.all(vols.map((v) => v.close()));
    }
    function i(g: string): number {
      return Number(g.slice(1));
    }
  });
});
