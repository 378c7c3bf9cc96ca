// Buckets and single-part objects through the real AWS SDK v3 against a gateway over a real
// volume: every operation, ranged and conditional reads, metadata, tagging, copies, and the same
// files seen through the SDK Volume.
import {
  CopyObjectCommand, CreateBucketCommand, DeleteBucketTaggingCommand, GetBucketTaggingCommand, PutBucketTaggingCommand, GetBucketAclCommand, GetObjectAclCommand, DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand,
  DeleteObjectTaggingCommand, GetBucketLocationCommand, GetBucketVersioningCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command,
  PutObjectCommand, PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t?.cleanup();
});

const get = async (Bucket: string, Key: string, extra: Record<string, unknown> = {}) => {
  const r = await t.s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return { r, body: Buffer.from(await r.Body!.transformToByteArray()) };
};

describe('buckets', () => {
  it('create, list, head, location, versioning, delete', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
    await t.s3.send(new CreateBucketCommand({ Bucket: 'beta.bucket-2' }));
    const list = await t.s3.send(new ListBucketsCommand({}));
    const names = list.Buckets!.map((b) => b.Name);
    expect(names).toEqual(expect.arrayContaining(['alpha', 'beta.bucket-2']));
    // Names come sorted; the gateway's reserved directory and the trash are never buckets.
    expect(names).toEqual([...names].sort());
    expect(names.some((n) => n!.startsWith('.'))).toBe(false);
    expect(list.Buckets![0].CreationDate).toBeInstanceOf(Date);
    expect(list.Owner?.ID).toBeTruthy();

    const head = await t.s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(head.BucketRegion).toBe('us-east-1');
    expect((await t.s3.send(new GetBucketLocationCommand({ Bucket: 'alpha' }))).LocationConstraint).toBeUndefined();
    expect((await t.s3.send(new GetBucketVersioningCommand({ Bucket: 'alpha' }))).Status).toBeUndefined();
    // A bucket is a top-level directory.
    expect((await t.vol.stat('/alpha')).isDirectory()).toBe(true);

    await t.s3.send(new DeleteBucketCommand({ Bucket: 'beta.bucket-2' }));
    expect(await s3Failure(t.s3.send(new HeadBucketCommand({ Bucket: 'beta.bucket-2' })))).toEqual({ code: 'NotFound', status: 404 });
  });

  it('bucket tagging: put, get (sorted), replace, delete; none is NoSuchTagSet', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'tagged-bucket' }));
    expect(await s3Failure(t.s3.send(new GetBucketTaggingCommand({ Bucket: 'tagged-bucket' })))).toEqual({ code: 'NoSuchTagSet', status: 404 });
    await t.s3.send(new PutBucketTaggingCommand({ Bucket: 'tagged-bucket', Tagging: { TagSet: [{ Key: 'team', Value: 'ml' }, { Key: 'cost', Value: '42' }] } }));
    expect((await t.s3.send(new GetBucketTaggingCommand({ Bucket: 'tagged-bucket' }))).TagSet).toEqual([{ Key: 'cost', Value: '42' }, { Key: 'team', Value: 'ml' }]);
    const many = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(await s3Failure(t.s3.send(new PutBucketTaggingCommand({ Bucket: 'tagged-bucket', Tagging: { TagSet: many } })))).toEqual({ code: 'InvalidTag', status: 400 });
    await t.s3.send(new PutBucketTaggingCommand({ Bucket: 'tagged-bucket', Tagging: { TagSet: many.slice(0, 50) } }));
    expect((await t.s3.send(new GetBucketTaggingCommand({ Bucket: 'tagged-bucket' }))).TagSet).toHaveLength(50);
    await t.s3.send(new DeleteBucketTaggingCommand({ Bucket: 'tagged-bucket' }));
    expect(await s3Failure(t.s3.send(new GetBucketTaggingCommand({ Bucket: 'tagged-bucket' })))).toEqual({ code: 'NoSuchTagSet', status: 404 });
    expect(await s3Failure(t.s3.send(new GetBucketTaggingCommand({ Bucket: 'no-such-bucket-here' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  it('ListBuckets pages with MaxBuckets and ContinuationToken, and narrows by Prefix', async () => {
    for (const b of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) await t.s3.send(new CreateBucketCommand({ Bucket: b }));
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await t.s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'page-', ContinuationToken: token }));
      expect(r.Buckets!.length).toBeLessThanOrEqual(2);
      seen.push(...r.Buckets!.map((b) => b.Name!));
      token = r.ContinuationToken;
    } while (token);
    expect(seen).toEqual(['page-a', 'page-b', 'page-c', 'page-d', 'page-e']);
    expect(await s3Failure(t.s3.send(new ListBucketsCommand({ MaxBuckets: 0 })))).toEqual({ code: 'InvalidArgument', status: 400 });
  });

  it('refuses what S3 refuses: taken names, bad names, non-empty or missing buckets', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'gamma' }));
    // In us-east-1 S3 answers re-creating your own bucket with success (elsewhere: BucketAlreadyOwnedByYou).
    expect(await s3Failure(t.s3.send(new CreateBucketCommand({ Bucket: 'gamma' })))).toEqual({ code: 'ok' });
    for (const bad of ['ab', 'UpperCase', 'under_score', 'a..b', '-lead', '192.168.1.1', 'x'.repeat(64), 'foo.-bar', 'foo-.bar']) {
      expect(await s3Failure(t.s3.send(new CreateBucketCommand({ Bucket: bad }))), bad).toMatchObject({ code: 'InvalidBucketName', status: 400 });
    }
    await t.s3.send(new PutObjectCommand({ Bucket: 'gamma', Key: 'k', Body: 'x' }));
    expect(await s3Failure(t.s3.send(new DeleteBucketCommand({ Bucket: 'gamma' })))).toEqual({ code: 'BucketNotEmpty', status: 409 });
    expect(await s3Failure(t.s3.send(new DeleteBucketCommand({ Bucket: 'no-such-bucket' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
    // A file at the top of the volume is not a bucket.
    await t.vol.writeFile('/plain-file', 'x');
    expect(await s3Failure(t.s3.send(new CreateBucketCommand({ Bucket: 'plain-file' })))).toEqual({ code: 'BucketAlreadyExists', status: 409 });
    expect(await s3Failure(t.s3.send(new HeadBucketCommand({ Bucket: 'plain-file' })))).toMatchObject({ status: 404 });
  });
});

describe('objects', () => {
  beforeAll(async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'objs' }));
  });

  it('put, get, head and delete with system headers and user metadata', async () => {
    const body = randomBytes(300_000);
    const put = await t.s3.send(new PutObjectCommand({
      Bucket: 'objs', Key: 'a/b/data.bin', Body: body, ContentType: 'application/x-test', CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="d.bin"', ContentLanguage: 'en', Metadata: { color: 'blue', 'two-words': 'a b' },
    }));
    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
    const { r, body: got } = await get('objs', 'a/b/data.bin');
    expect(got.equals(body)).toBe(true);
    expect(r.ETag).toBe(put.ETag);
    expect(r.ContentType).toBe('application/x-test');
    expect(r.CacheControl).toBe('max-age=60');
    expect(r.ContentDisposition).toBe('attachment; filename="d.bin"');
    expect(r.ContentLanguage).toBe('en');
    expect(r.Metadata).toEqual({ color: 'blue', 'two-words': 'a b' });
    expect(r.ContentLength).toBe(body.length);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'a/b/data.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(put.ETag);
    expect(head.LastModified).toBeInstanceOf(Date);
    expect(head.Metadata).toEqual({ color: 'blue', 'two-words': 'a b' });
    // The object is the file /objs/a/b/data.bin of the volume.
    expect((await t.vol.readFile('/objs/a/b/data.bin')).equals(body)).toBe(true);

    await t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'a/b/data.bin' }));
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'a/b/data.bin' })))).toEqual({ code: 'NotFound', status: 404 });
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'a/b/data.bin' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    // The directories the key implied went with it; deleting again is fine.
    expect(await t.vol.readdir('/objs')).not.toContain('a');
    expect((await t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'a/b/data.bin' }))).$metadata.httpStatusCode).toBe(204);
  });

  it('streams bodies of unknown length (aws-chunked with a trailing CRC32) and empty bodies', async () => {
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(200_000)];
    const all = Buffer.concat(parts);
    const put = await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'stream', Body: Readable.from(parts), ContentLength: all.length }));
    expect(put.ETag).toBe(`"${md5Hex(all)}"`);
    expect(put.ChecksumCRC32).toBeTruthy();
    expect((await get('objs', 'stream')).body.equals(all)).toBe(true);
    const empty = await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'empty', Body: '' }));
    expect(empty.ETag).toBe(`"${md5Hex('')}"`);
    const e = await get('objs', 'empty');
    expect(e.body.length).toBe(0);
    expect(e.r.ContentLength).toBe(0);
  });

  it('ACLs read as the owner\'s full control', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'acl', Body: 'a' }));
    const b = await t.s3.send(new GetBucketAclCommand({ Bucket: 'objs' }));
    expect(b.Grants).toEqual([expect.objectContaining({ Permission: 'FULL_CONTROL', Grantee: expect.objectContaining({ Type: 'CanonicalUser', ID: b.Owner!.ID }) })]);
    const o = await t.s3.send(new GetObjectAclCommand({ Bucket: 'objs', Key: 'acl' }));
    expect(o.Owner?.ID).toBe(b.Owner?.ID);
    expect(await s3Failure(t.s3.send(new GetObjectAclCommand({ Bucket: 'objs', Key: 'no-acl' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  it('overwrites replace the object whole', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'over', Body: 'first version, longer', Metadata: { v: '1' } }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'over', Body: 'second' }));
    const { r, body } = await get('objs', 'over');
    expect(body.toString()).toBe('second');
    expect(r.Metadata).toEqual({});
  });

  it('ranged reads: first, middle, suffix, open-ended, past the end', async () => {
    const body = randomBytes(10_000);
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'ranged', Body: body }));
    const cases: [string, number, number][] = [['bytes=0-0', 0, 1], ['bytes=100-199', 100, 200], ['bytes=-500', 9500, 10_000], ['bytes=9000-', 9000, 10_000], ['bytes=9990-20000', 9990, 10_000]];
    for (const [range, start, end] of cases) {
      const { r, body: got } = await get('objs', 'ranged', { Range: range });
      expect(r.$metadata.httpStatusCode, range).toBe(206);
      expect(got.equals(body.subarray(start, end)), range).toBe(true);
      expect(r.ContentRange).toBe(`bytes ${start}-${end - 1}/10000`);
      expect(r.ContentLength).toBe(end - start);
    }
    expect(await s3Failure(get('objs', 'ranged', { Range: 'bytes=10000-' }))).toEqual({ code: 'InvalidRange', status: 416 });
    // Not a single byte range: the whole object, as S3 answers.
    const whole = await get('objs', 'ranged', { Range: 'bytes=0-1,5-6' });
    expect(whole.r.$metadata.httpStatusCode).toBe(200);
    expect(whole.body.length).toBe(10_000);
  });

  it('conditional reads: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const put = await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'cond' }));
    const modified = head.LastModified!;
    const before = new Date(modified.getTime() - 60_000);
    const after = new Date(modified.getTime() + 60_000);
    expect((await get('objs', 'cond', { IfMatch: etag })).body.toString()).toBe('conditional');
    expect(await s3Failure(get('objs', 'cond', { IfMatch: '"0123"' }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Failure(get('objs', 'cond', { IfNoneMatch: etag }))).toMatchObject({ status: 304 });
    expect((await get('objs', 'cond', { IfNoneMatch: '"other"' })).body.toString()).toBe('conditional');
    expect(await s3Failure(get('objs', 'cond', { IfModifiedSince: after }))).toMatchObject({ status: 304 });
    expect((await get('objs', 'cond', { IfModifiedSince: before })).r.$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(get('objs', 'cond', { IfUnmodifiedSince: before }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect((await get('objs', 'cond', { IfUnmodifiedSince: after })).r.$metadata.httpStatusCode).toBe(200);
    // If-Match that holds overrides If-Unmodified-Since (RFC 7232).
    expect((await get('objs', 'cond', { IfMatch: etag, IfUnmodifiedSince: before })).r.$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'cond', IfMatch: '"nope"' })))).toMatchObject({ status: 412 });
    // Conditional writes: create-only.
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'x', IfNoneMatch: '*' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond-new', Body: 'x', IfNoneMatch: '*' }));
    expect((await get('objs', 'cond')).body.toString()).toBe('conditional');
    // By ETag: If-None-Match refuses the ETag that is there, If-Match requires it.
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'x', IfNoneMatch: etag })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'x', IfMatch: '"0123"' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect((await get('objs', 'cond')).body.toString()).toBe('conditional');
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'second', IfNoneMatch: '"other"' }));
    const second = (await get('objs', 'cond')).r.ETag!;
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'cond', Body: 'third', IfMatch: second }));
    expect((await get('objs', 'cond')).body.toString()).toBe('third');
    // DeleteObject honours If-Match.
    expect(await s3Failure(t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'cond', IfMatch: second })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect((await get('objs', 'cond')).body.toString()).toBe('third');
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'cond', IfMatch: (await get('objs', 'cond')).r.ETag! }));
    expect(await s3Failure(get('objs', 'cond'))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  it('response-* overrides the headers of a GET', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'override', Body: 'o', ContentType: 'text/plain' }));
    const { r } = await get('objs', 'override', {
      ResponseContentType: 'application/json', ResponseContentDisposition: 'inline', ResponseCacheControl: 'no-cache',
      ResponseContentLanguage: 'fr', ResponseContentEncoding: 'identity', ResponseExpires: new Date('2030-01-01T00:00:00Z'),
    });
    expect(r.ContentType).toBe('application/json');
    expect(r.ContentDisposition).toBe('inline');
    expect(r.CacheControl).toBe('no-cache');
    expect(r.ContentLanguage).toBe('fr');
    expect(r.ContentEncoding).toBe('identity');
  });

  it('checksums: stored, returned with ChecksumMode, verified on upload', async () => {
    const body = Buffer.from('checksummed body');
    for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
      const put = await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: `sum-${alg}`, Body: body, ChecksumAlgorithm: alg }));
      const field = `Checksum${alg}` as 'ChecksumCRC32';
      expect(put[field], alg).toBeTruthy();
      const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: `sum-${alg}`, ChecksumMode: 'ENABLED' }));
      expect(head[field], alg).toBe(put[field]);
      // The SDK checks the body it reads against the checksum the gateway returns.
      const got = await get('objs', `sum-${alg}`, { ChecksumMode: 'ENABLED' });
      expect(got.body.equals(body), alg).toBe(true);
      expect(got.r[field], alg).toBe(put[field]);
    }
    // A wrong checksum in the header: refused, nothing stored.
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bad-sum', Body: body, ChecksumCRC32C: 'AAAAAA==' })))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bad-md5', Body: body, ContentMD5: Buffer.alloc(16).toString('base64') })))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'bad-sum' })))).toMatchObject({ status: 404 });
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'bad-md5' })))).toMatchObject({ status: 404 });
  });

  it('tagging: on PUT, get, put, delete', async () => {
    // Tags come back sorted by key, in whatever order they were sent.
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'tagged', Body: 't', Tagging: 'b=two%20words&a=1' }));
    expect((await t.s3.send(new GetObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged' }))).TagSet).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two words' }]);
    expect((await get('objs', 'tagged')).r.TagCount).toBe(2);
    await t.s3.send(new PutObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    expect((await t.s3.send(new GetObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged' }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
    await t.s3.send(new DeleteObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged' }));
    expect((await t.s3.send(new GetObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged' }))).TagSet).toEqual([]);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(await s3Failure(t.s3.send(new PutObjectTaggingCommand({ Bucket: 'objs', Key: 'tagged', Tagging: { TagSet: tooMany } })))).toEqual({ code: 'InvalidTag', status: 400 });
    // Tagging leaves the bytes and ETag alone.
    expect((await get('objs', 'tagged')).body.toString()).toBe('t');
  });

  it('DeleteObjects: several keys, quiet or not, missing keys count as deleted', async () => {
    for (const k of ['d/1', 'd/2', 'd/3']) await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: k, Body: k }));
    const res = await t.s3.send(new DeleteObjectsCommand({ Bucket: 'objs', Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2' }, { Key: 'd/missing' }, { Key: '../escape' }] } }));
    expect(res.Deleted!.map((d) => d.Key).sort()).toEqual(['d/1', 'd/2', 'd/missing']);
    expect(res.Errors).toEqual([expect.objectContaining({ Key: '../escape', Code: 'InvalidObjectName' })]);
    const quiet = await t.s3.send(new DeleteObjectsCommand({ Bucket: 'objs', Delete: { Quiet: true, Objects: [{ Key: 'd/3' }] } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'd/3' })))).toMatchObject({ status: 404 });
  });

  it('CopyObject shares the source\'s data, copies or replaces metadata', async () => {
    const body = randomBytes(5 * 1024 * 1024 + 123);
    const put = await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'src/orig', Body: body, ContentType: 'x/orig', Metadata: { m: '1' } }));
    await t.s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
    const copied = await t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/1', CopySource: 'objs/src/orig' }));
    expect(copied.CopyObjectResult?.ETag).toBe(put.ETag);
    const c1 = await get('copies', 'c/1');
    expect(c1.body.equals(body)).toBe(true);
    expect(c1.r.ContentType).toBe('x/orig');
    expect(c1.r.Metadata).toEqual({ m: '1' });
    const replaced = await t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/2', CopySource: '/objs/src/orig', MetadataDirective: 'REPLACE', ContentType: 'x/new', Metadata: { n: '2' } }));
    const c2 = await get('copies', 'c/2');
    expect(c2.r.ContentType).toBe('x/new');
    expect(c2.r.Metadata).toEqual({ n: '2' });
    expect(replaced.CopyObjectResult?.ETag).toBe(put.ETag);
    // No byte was copied: the copies reference the source's slices.
    const src = await t.vol.info('/objs/src/orig');
    const dst = await t.vol.info('/copies/c/1');
    const ids = (i: typeof src) => i.chunks.flatMap((c) => c.slices.map((s) => s.id)).filter((id) => id !== 0).sort();
    expect(ids(dst)).toEqual(ids(src));
    // Deleting the source keeps the copy whole.
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'src/orig' }));
    await new Promise((r) => setTimeout(r, 200));
    expect((await get('copies', 'c/1')).body.equals(body)).toBe(true);
    // Copy onto itself without changes is refused; with REPLACE it rewrites the metadata.
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/1', CopySource: 'copies/c/1' })))).toEqual({ code: 'InvalidRequest', status: 400 });
    await t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/1', CopySource: 'copies/c/1', MetadataDirective: 'REPLACE', Metadata: { self: 'yes' } }));
    expect((await get('copies', 'c/1')).r.Metadata).toEqual({ self: 'yes' });
    // Source conditions and missing sources.
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/3', CopySource: 'copies/c/1', CopySourceIfMatch: '"nope"' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/3', CopySource: 'objs/src/orig' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'c/3', CopySource: 'nobucket-here/x' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  it('keys that cannot be paths get a clear error and change nothing', async () => {
    const bad = ['../escape', 'a/../b', './x', 'a/./b', 'a//b', '/lead', 'x/' + 'n'.repeat(256)];
    for (const key of bad) {
      expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: key, Body: 'x' }))), key).toEqual({ code: 'InvalidObjectName', status: 400 });
    }
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'k'.repeat(1025), Body: 'x' })))).toEqual({ code: 'KeyTooLongError', status: 400 });
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'a/../b' })))).toEqual({ code: 'InvalidObjectName', status: 400 });
    // A key below an object, or an object where a prefix holds keys.
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'file', Body: 'x' }));
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'file/below', Body: 'x' })))).toEqual({ code: 'ParentIsObject', status: 409 });
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'dir/inside', Body: 'x' }));
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'dir', Body: 'x' })))).toEqual({ code: 'ObjectExistsAsDirectory', status: 409 });
    expect((await get('objs', 'file')).body.toString()).toBe('x');
    expect(await t.vol.readdir('/')).not.toContain('escape');
    // Nothing was left in the staging area either.
    expect(await t.vol.readdir('/.strata-gateway/tmp')).toEqual([]);
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'x'.repeat(2048), Body: 'x' })))).toMatchObject({ status: 400 });
    // User metadata is limited to 2 KB.
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'meta-big', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })))).toEqual({ code: 'MetadataTooLarge', status: 400 });
  });

  it('"folder" keys (ending in "/") are directories', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'folder/', Body: '' }));
    expect((await t.vol.stat('/objs/folder')).isDirectory()).toBe(true);
    const head = await t.s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'folder/' }));
    expect(head.ContentLength).toBe(0);
    const list = await t.s3.send(new ListObjectsV2Command({ Bucket: 'objs', Prefix: 'folder' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['folder/']);
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'folder2/', Body: 'data' })))).toEqual({ code: 'InvalidRequest', status: 400 });
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'folder/' }));
    expect(await t.vol.readdir('/objs')).not.toContain('folder');
  });
});

describe('versions: the volume never versions, so only the "null" version exists', () => {
  it('a versionId other than "null" reads nothing and deletes nothing', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'versions' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'versions', Key: 'live.txt', Body: 'live' }));
    const VersionId = '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY';
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'versions', Key: 'live.txt', VersionId })))).toEqual({ code: 'NoSuchVersion', status: 404 });
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'versions', Key: 'live.txt', VersionId })))).toMatchObject({ status: 404 });
    expect(await s3Failure(t.s3.send(new PutObjectTaggingCommand({ Bucket: 'versions', Key: 'live.txt', VersionId, Tagging: { TagSet: [] } })))).toEqual({ code: 'NoSuchVersion', status: 404 });
    // S3 answers a deletion of a version that does not exist with success, naming it.
    const del = await t.s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'live.txt', VersionId }));
    expect(del.VersionId).toBe(VersionId);
    const many = await t.s3.send(new DeleteObjectsCommand({ Bucket: 'versions', Delete: { Objects: [{ Key: 'live.txt', VersionId }] } }));
    expect(many.Errors?.map((e) => [e.Key, e.VersionId, e.Code])).toEqual([['live.txt', VersionId, 'NoSuchVersion']]);
    expect((await get('versions', 'live.txt')).body.toString()).toBe('live');
    // The "null" version is the object itself.
    expect((await get('versions', 'live.txt', { VersionId: 'null' })).body.toString()).toBe('live');
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'versions', Key: 'live.txt', VersionId: 'null' }));
    expect(await s3Failure(get('versions', 'live.txt'))).toEqual({ code: 'NoSuchKey', status: 404 });
  });
});

describe('the same files through the SDK and S3', () => {
  beforeAll(async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'shared' }));
  });

  it('files written through the SDK are objects, with an ETag that changes when they do', async () => {
    await t.vol.mkdir('/shared/docs/deep', { recursive: true });
    await t.vol.writeFile('/shared/docs/deep/readme.txt', 'written by the SDK');
    const { r, body } = await get('shared', 'docs/deep/readme.txt');
    expect(body.toString()).toBe('written by the SDK');
    const first = r.ETag;
    expect(first).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await get('shared', 'docs/deep/readme.txt')).r.ETag).toBe(first);
    const listed = await t.s3.send(new ListObjectsV2Command({ Bucket: 'shared', Prefix: 'docs/' }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([['docs/deep/readme.txt', 18]]);
    await t.vol.writeFile('/shared/docs/deep/readme.txt', 'changed');
    const again = await get('shared', 'docs/deep/readme.txt');
    expect(again.body.toString()).toBe('changed');
    expect(again.r.ETag).not.toBe(first);
    // A symlink to a file is that file's object.
    await t.vol.symlink('deep/readme.txt', '/shared/docs/link');
    expect((await get('shared', 'docs/link')).body.toString()).toBe('changed');
  });

  it('symlinks leading out of the bucket name nothing', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'other' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'other', Key: 'secret', Body: 'not for shared' }));
    await t.vol.symlink('/other/secret', '/shared/escape');
    await t.vol.symlink('../.strata-gateway', '/shared/staging');
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'escape' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'staging/tmp' })))).toMatchObject({ status: 404 });
    const listed = await t.s3.send(new ListObjectsV2Command({ Bucket: 'shared' }));
    expect(listed.Contents?.map((c) => c.Key)).not.toContain('escape');
    expect(listed.Contents?.map((c) => c.Key)).not.toContain('staging');
  });

  it('objects written through S3 are files; an SDK change keeps the headers but not the stale ETag', async () => {
    const put = await t.s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'from-s3/obj.txt', Body: 'from S3', ContentType: 'text/x-s3' }));
    expect(await t.vol.readFile('/shared/from-s3/obj.txt', 'utf8')).toBe('from S3');
    await t.vol.appendFile('/shared/from-s3/obj.txt', ' + SDK');
    const { r, body } = await get('shared', 'from-s3/obj.txt');
    expect(body.toString()).toBe('from S3 + SDK');
    expect(r.ETag).not.toBe(put.ETag);
    expect(r.ContentType).toBe('text/x-s3');
    // Deleting through the SDK deletes the object.
    await t.vol.unlink('/shared/from-s3/obj.txt');
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'shared', Key: 'from-s3/obj.txt' })))).toMatchObject({ status: 404 });
  });

  it('a directory is not an object', async () => {
    await t.vol.mkdir('/shared/only-a-dir');
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'only-a-dir' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Failure(t.s3.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'only-a-dir' })))).toEqual({ code: 'ok' });
    expect((await t.vol.stat('/shared/only-a-dir')).isDirectory()).toBe(true);
  });
});

describe('with the trash on (trash-days 1)', () => {
  it('deleted and overwritten objects go to the trash; staging leftovers never do', async () => {
    const g = await startTestGateway({}, { trashDays: 1 });
    try {
      await g.s3.send(new CreateBucketCommand({ Bucket: 'trashy' }));
      expect((await g.s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual(['trashy']);
      await g.s3.send(new PutObjectCommand({ Bucket: 'trashy', Key: 'k', Body: 'one' }));
      await g.s3.send(new PutObjectCommand({ Bucket: 'trashy', Key: 'k', Body: 'two' }));
      await g.s3.send(new DeleteObjectCommand({ Bucket: 'trashy', Key: 'k' }));
      // A refused upload and a copy leave nothing in the trash.
      expect(await s3Failure(g.s3.send(new PutObjectCommand({ Bucket: 'trashy', Key: 'bad', Body: 'x', ContentMD5: Buffer.alloc(16).toString('base64') })))).toMatchObject({ code: 'BadDigest' });
      await g.s3.send(new PutObjectCommand({ Bucket: 'trashy', Key: 'src', Body: 'src' }));
      await g.s3.send(new CopyObjectCommand({ Bucket: 'trashy', Key: 'dst', CopySource: 'trashy/src' }));
      const trashed = await g.vol.vfs.meta.listTrash();
      expect(trashed.map((e) => [e.name, e.size]).sort()).toEqual([['k', 3], ['k', 3]]);
    } finally {
      await g.cleanup();
    }
  });
});

