// Access control lists: canned ACLs, grants to users by canonical id, AccessControlPolicy
// documents, on buckets and objects, judged with policies (an explicit Deny still wins); the
// public access block's BlockPublicAcls and IgnorePublicAcls; object ownership, with
// BucketOwnerEnforced turning ACLs off (refused when set, ignored when stored).
import {
  AbortMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketOwnershipControlsCommand, ListMultipartUploadsCommand, GetBucketAclCommand, GetBucketOwnershipControlsCommand, GetObjectAclCommand,
  GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketOwnershipControlsCommand, PutBucketPolicyCommand,
  PutObjectAclCommand, PutObjectCommand, PutPublicAccessBlockCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, rawRequest, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
let iam: IAMClient;
let alt: { s3: S3Client; id: string };
let rootId: string;

const anonymous = (method: string, path: string, body?: string) => rawRequest(t.gw.url, method, path, body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }, body);
const code = async (p: Promise<unknown>) => (await s3Failure(p)).code;

describe('ACLs', () => {
  beforeAll(async () => {
    t = await startTestGateway();
    iam = new IAMClient({ endpoint: t.gw.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    await iam.send(new CreateUserCommand({ UserName: 'alt' }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'alt' }))).AccessKey!;
    const s3 = t.client({ credentials: { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! } });
    // A caller learns its canonical id from ListBuckets' Owner.
    alt = { s3, id: (await s3.send(new ListBucketsCommand({}))).Owner!.ID! };
    rootId = (await t.s3.send(new ListBucketsCommand({}))).Owner!.ID!;
    expect(alt.id).toMatch(/^[0-9a-f]{64}$/);
    expect(alt.id).not.toBe(rootId);
    await t.s3.send(new CreateBucketCommand({ Bucket: 'acl' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'plain', Body: 'plain' }));
  });

  afterAll(async () => {
    iam?.destroy();
    await t?.cleanup();
  });

  it('a bucket has its owner\'s full control and no ownership controls until some are set', async () => {
    const acl = await t.s3.send(new GetBucketAclCommand({ Bucket: 'acl' }));
    expect(acl.Owner?.ID).toBe(rootId);
    expect(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([[rootId, 'FULL_CONTROL']]);
    expect(await code(t.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl' })))).toBe('OwnershipControlsNotFoundError');
    expect(await code(alt.s3.send(new GetObjectCommand({ Bucket: 'acl', Key: 'plain' })))).toBe('AccessDenied');
  });

  it('canned ACLs: public-read on the bucket lists it to anyone; on an object, serves it to anyone', async () => {
    await t.s3.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read' }));
    expect((await anonymous('GET', '/acl?list-type=2')).status).toBe(200);
    expect((await anonymous('GET', '/acl/plain')).status).toBe(403);
    await t.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'open', Body: 'open', ACL: 'public-read' }));
    const r = await anonymous('GET', '/acl/open');
    expect([r.status, r.body]).toEqual([200, 'open']);
    expect((await anonymous('PUT', '/acl/defaced', 'x')).status).toBe(403);
    await t.s3.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'private' }));
    expect((await anonymous('GET', '/acl?list-type=2')).status).toBe(403);
    expect((await anonymous('GET', '/acl/open')).status).toBe(200);
  });

  it('grants to a user by canonical id, in headers or in an AccessControlPolicy document', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'shared', Body: 'for alt', GrantRead: `id="${alt.id}"` }));
    expect(await (await alt.s3.send(new GetObjectCommand({ Bucket: 'acl', Key: 'shared' }))).Body!.transformToString()).toBe('for alt');
    expect(await code(alt.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'shared' })))).toBe('AccessDenied');
    const acl = await t.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'shared' }));
    expect(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([[alt.id, 'READ']]);
    await t.s3.send(new PutObjectAclCommand({
      Bucket: 'acl', Key: 'plain',
      AccessControlPolicy: { Owner: { ID: rootId }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: alt.id }, Permission: 'FULL_CONTROL' }] },
    }));
    expect(await (await alt.s3.send(new GetObjectCommand({ Bucket: 'acl', Key: 'plain' }))).Body!.transformToString()).toBe('plain');
    expect((await alt.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'plain' }))).Grants?.[0]?.Permission).toBe('FULL_CONTROL');
    // A bucket-wide WRITE lets alt add objects, which alt then owns.
    await t.s3.send(new PutBucketAclCommand({ Bucket: 'acl', GrantWrite: `id="${alt.id}"`, GrantFullControl: `id="${rootId}"` }));
    await alt.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'from-alt', Body: 'mine' }));
    expect((await alt.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'from-alt' }))).Owner?.ID).toBe(alt.id);
    expect(await code(alt.s3.send(new ListObjectsV2Command({ Bucket: 'acl' })))).toBe('AccessDenied');
    // An explicit Deny in the bucket policy beats every grant.
    await t.s3.send(new PutBucketPolicyCommand({
      Bucket: 'acl',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acl/shared' }] }),
    }));
    expect(await code(alt.s3.send(new GetObjectCommand({ Bucket: 'acl', Key: 'shared' })))).toBe('AccessDenied');
  });

  it('bad ACLs are refused and change nothing', async () => {
    expect(await code(t.s3.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read', GrantRead: `id="${alt.id}"` })))).toBe('InvalidRequest');
    expect(await code(t.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'x', Body: 'x', ACL: 'world-writable' as never })))).toBe('InvalidArgument');
    expect(await code(t.s3.send(new PutObjectAclCommand({ Bucket: 'acl', Key: 'plain', GrantRead: 'uri="http://example.com/everyone"' })))).toBe('InvalidArgument');
    expect(await code(t.s3.send(new PutObjectAclCommand({
      Bucket: 'acl', Key: 'plain', AccessControlPolicy: { Owner: { ID: alt.id }, Grants: [] },
    })))).toBe('AccessDenied');
    expect((await t.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'plain' }))).Grants?.[0]?.Grantee?.ID).toBe(alt.id);
  });

  it('the public access block: BlockPublicAcls refuses public ACLs, IgnorePublicAcls disregards them', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'pab', ACL: 'public-read' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'pab', Key: 'o', Body: 'o', ACL: 'public-read' }));
    expect((await anonymous('GET', '/pab/o')).status).toBe(200);
    await t.s3.send(new PutPublicAccessBlockCommand({ Bucket: 'pab', PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true } }));
    expect((await anonymous('GET', '/pab/o')).status).toBe(403);
    expect(await code(t.s3.send(new PutObjectCommand({ Bucket: 'pab', Key: 'p', Body: 'p', ACL: 'public-read' })))).toBe('AccessDenied');
    expect(await code(t.s3.send(new PutBucketAclCommand({ Bucket: 'pab', ACL: 'public-read-write' })))).toBe('AccessDenied');
  });

  it('BucketOwnerEnforced turns ACLs off: setting one is refused, stored ones are ignored', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'enforced', ACL: 'public-read' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'o', Body: 'o', ACL: 'public-read' }));
    expect((await anonymous('GET', '/enforced/o')).status).toBe(200);
    await t.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: 'enforced', OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
    expect((await t.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'enforced' }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced');
    expect((await anonymous('GET', '/enforced/o')).status).toBe(403);
    expect(await code(t.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'p', Body: 'p', ACL: 'public-read' })))).toBe('AccessControlListNotSupported');
    expect(await code(t.s3.send(new PutBucketAclCommand({ Bucket: 'enforced', ACL: 'public-read' })))).toBe('AccessControlListNotSupported');
    await t.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'q', Body: 'q', ACL: 'bucket-owner-full-control' }));
    expect(await code(t.s3.send(new CreateBucketCommand({ Bucket: 'enforced2', ObjectOwnership: 'BucketOwnerEnforced', ACL: 'public-read' })))).toBe('InvalidBucketAclWithObjectOwnership');
    await t.s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: 'enforced' }));
    expect((await anonymous('GET', '/enforced/o')).status).toBe(200);
  });
  it('grants show their grantee\'s name, groups first; an id nobody has and e-mail grantees are refused', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'named', Body: 'n', GrantRead: `id="${alt.id}", uri="http://acs.amazonaws.com/groups/global/AllUsers"`, GrantFullControl: `id="${rootId}"` }));
    const acl = await t.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'named' }));
    expect(acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.URI ?? g.Grantee?.DisplayName, g.Permission])).toEqual([
      ['Group', 'http://acs.amazonaws.com/groups/global/AllUsers', 'READ'], ['CanonicalUser', 'alt', 'READ'], ['CanonicalUser', 'root', 'FULL_CONTROL'],
    ]);
    expect(await code(t.s3.send(new PutObjectAclCommand({ Bucket: 'acl', Key: 'named', GrantRead: `id="${'0'.repeat(64)}"` })))).toBe('InvalidArgument');
    expect(await code(t.s3.send(new PutObjectAclCommand({ Bucket: 'acl', Key: 'named', GrantRead: 'emailAddress="nobody@example.com"' })))).toBe('UnresolvableGrantByEmailAddress');
    expect((await t.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'named' }))).Grants).toHaveLength(3);
  });

  it('an anonymous caller who may list a bucket learns that a missing key is missing', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'listable', ACL: 'public-read' }));
    const r = await anonymous('GET', '/listable/never-was');
    expect([r.status, /<Code>NoSuchKey</.test(r.body)]).toEqual([404, true]);
    expect((await anonymous('GET', '/acl/never-was')).status).toBe(403);
  });
  it('a multipart upload names who started it, in its listing and its parts', async () => {
    await t.s3.send(new PutBucketAclCommand({ Bucket: 'acl', GrantWrite: `id="${alt.id}"`, GrantFullControl: `id="${rootId}"` }));
    const { UploadId } = await alt.s3.send(new CreateMultipartUploadCommand({ Bucket: 'acl', Key: 'alt-upload' }));
    const listed = await t.s3.send(new ListMultipartUploadsCommand({ Bucket: 'acl' }));
    const mine = listed.Uploads?.find((u) => u.UploadId === UploadId);
    expect([mine?.Initiator?.ID, mine?.Initiator?.DisplayName, mine?.Owner?.ID]).toEqual([alt.id, 'alt', alt.id]);
    await alt.s3.send(new AbortMultipartUploadCommand({ Bucket: 'acl', Key: 'alt-upload', UploadId }));
  });
  it('an ACL sent with a write needs the right to set ACLs; a root session writes as root', async () => {
    await iam.send(new PutUserPolicyCommand({
      UserName: 'alt', PolicyName: 'put-only',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::acl/alt/*' }] }),
    }));
    await alt.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'alt/plain', Body: 'x' }));
    expect(await code(alt.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'alt/public', Body: 'x', ACL: 'public-read' })))).toBe('AccessDenied');
    expect(await code(alt.s3.send(new PutObjectCommand({ Bucket: 'acl', Key: 'alt/granted', Body: 'x', GrantFullControl: `id="${rootId}"` })))).toBe('AccessDenied');
    const { STSClient, GetSessionTokenCommand } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ endpoint: t.gw.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    const c = (await sts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials!;
    sts.destroy();
    const rootSession = t.client({ credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } });
    await rootSession.send(new PutObjectCommand({ Bucket: 'acl', Key: 'by-root-session', Body: 'x' }));
    const acl = await t.s3.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'by-root-session' }));
    expect([acl.Owner?.ID, acl.Owner?.DisplayName]).toEqual([rootId, 'root']);
  });
});
