// A bucket is a boundary: no S3 call may reach outside its bucket's directory — not through a
// symbolic link someone made on the mount, and not into the gateway's own directory or the trash.
// Each case names what it must not touch and checks that it is still as it was.
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, rawRequest, s3Failure, SECRET_KEY, startTestGateway, type TestGateway } from './harness.js';
import { signHeaders } from './signer.js';

let t: TestGateway;

/** What the victim bucket holds, as the file system sees it (path: content). */
async function victimTree(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await t.vol.readdir(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        out[`${p}/`] = '';
        await walk(p);
      } else out[p] = (await t.vol.readFile(p)).toString();
    }
  };
  await walk('/victim');
  return out;
}

beforeAll(async () => {
  t = await startTestGateway();
  for (const b of ['attacker', 'victim']) await t.s3.send(new CreateBucketCommand({ Bucket: b }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'victim', Key: 'keep.txt', Body: 'victim data' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'victim', Key: 'dir/inner.txt', Body: 'inner' }));
  await t.s3.send(new PutObjectCommand({ Bucket: 'attacker', Key: 'real/own.txt', Body: 'own' }));
  // Made on the mount (or by any SDK client): links out of the bucket, absolute and relative,
  // one into the gateway's reserved directory, and one that stays inside the bucket.
  await t.vol.symlink('/victim', '/attacker/x');
  await t.vol.symlink('../victim/dir', '/attacker/rel');
  await t.vol.symlink('/.strata-gateway', '/attacker/gw');
  await t.vol.symlink('real', '/attacker/inside');
});

afterAll(async () => {
  await t?.cleanup();
});

describe('symbolic links never carry a write or a deletion out of the bucket', () => {
  it('PUT through a link to another bucket is refused and writes nothing there', async () => {
    const before = await victimTree();
    for (const Key of ['x/evil.txt', 'x/new/deeper/evil.txt', 'rel/evil.txt', 'x/dir/evil.txt', 'gw/evil.txt', 'x/folder/']) {
      expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'attacker', Key, Body: Key.endsWith('/') ? '' : 'evil' }))), Key).toEqual({ code: 'AccessDenied', status: 403 });
    }
    expect(await victimTree()).toEqual(before);
    expect(await t.vol.readdir('/.strata-gateway')).not.toContain('evil.txt');
  });

  it('DELETE and DeleteObjects through a link leave the other bucket alone', async () => {
    const before = await victimTree();
    expect(await s3Failure(t.s3.send(new DeleteObjectCommand({ Bucket: 'attacker', Key: 'x/keep.txt' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Failure(t.s3.send(new DeleteObjectCommand({ Bucket: 'attacker', Key: 'rel/inner.txt' })))).toEqual({ code: 'AccessDenied', status: 403 });
    const r = await t.s3.send(new DeleteObjectsCommand({ Bucket: 'attacker', Delete: { Objects: [{ Key: 'x/keep.txt' }, { Key: 'x/dir/inner.txt' }, { Key: 'real/gone.txt' }] } }));
    expect(r.Errors?.map((e) => [e.Key, e.Code])).toEqual([['x/keep.txt', 'AccessDenied'], ['x/dir/inner.txt', 'AccessDenied']]);
    expect(await victimTree()).toEqual(before);
  });

  it('multipart uploads and copies cannot land through a link either', async () => {
    const before = await victimTree();
    const up = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'attacker', Key: 'x/mp.bin' }));
    const part = await t.s3.send(new UploadPartCommand({ Bucket: 'attacker', Key: 'x/mp.bin', UploadId: up.UploadId, PartNumber: 1, Body: 'evil part' }));
    expect(await s3Failure(t.s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'attacker', Key: 'x/mp.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'attacker', Key: 'x/copy.txt', CopySource: 'attacker/real/own.txt' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await victimTree()).toEqual(before);
  });

  it('reads and tagging see nothing through a link that leaves the bucket', async () => {
    expect(await s3Failure(t.s3.send(new GetObjectCommand({ Bucket: 'attacker', Key: 'x/keep.txt' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Failure(t.s3.send(new PutObjectTaggingCommand({ Bucket: 'attacker', Key: 'x/keep.txt', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Failure(t.s3.send(new CopyObjectCommand({ Bucket: 'attacker', Key: 'stolen.txt', CopySource: 'attacker/x/keep.txt' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  it('inside its bucket a link still reads; writes go through real directories only', async () => {
    const got = await t.s3.send(new GetObjectCommand({ Bucket: 'attacker', Key: 'inside/own.txt' }));
    expect(await got.Body!.transformToString()).toBe('own');
    expect(await s3Failure(t.s3.send(new PutObjectCommand({ Bucket: 'attacker', Key: 'inside/new.txt', Body: 'n' })))).toEqual({ code: 'AccessDenied', status: 403 });
    await t.s3.send(new PutObjectCommand({ Bucket: 'attacker', Key: 'real/sub/new.txt', Body: 'n' }));
    expect((await t.vol.readFile('/attacker/real/sub/new.txt')).toString()).toBe('n');
    // Deleting a link's own key removes the link, not what it points to.
    await t.s3.send(new DeleteObjectCommand({ Bucket: 'attacker', Key: 'x' }));
    expect(await t.vol.readdir('/attacker')).not.toContain('x');
    expect((await t.vol.readFile('/victim/keep.txt')).toString()).toBe('victim data');
  });
});

describe('the gateway\'s own directory and the trash are no bucket', () => {
  it('GET, HEAD, PUT and DELETE under them answer NoSuchBucket and touch nothing', async () => {
    // A staged part of someone's upload: what the request below tries to read.
    const up = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'victim', Key: 'secret.bin' }));
    await t.s3.send(new UploadPartCommand({ Bucket: 'victim', Key: 'secret.bin', UploadId: up.UploadId, PartNumber: 1, Body: 'secret part' }));
    const u = new URL(t.gw.url);
    const send = (method: string, path: string) => {
      const s = signHeaders({ method, path, host: u.host, headers: {}, payloadHash: createHash('sha256').update('').digest('hex'), accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
      return rawRequest(t.gw.url, method, path, s.headers);
    };
    const staged = (await t.vol.readdir('/.strata-gateway', { recursive: true }) as string[]).filter((p) => !p.endsWith('/')).map((p) => `/.strata-gateway/${p}`);
    expect(staged.length).toBeGreaterThan(0);
    for (const path of [...staged, '/.trash/x', '/.strata-gateway/uploads']) {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const r = await send(method, path);
        expect(r.status, `${method} ${path}`).toBe(404);
        if (method !== 'HEAD') expect(r.body, `${method} ${path}`).toContain('<Code>NoSuchBucket</Code>');
      }
    }
    const stillThere = (await t.vol.readdir('/.strata-gateway', { recursive: true }) as string[]).filter((p) => !p.endsWith('/')).map((p) => `/.strata-gateway/${p}`);
    expect(stillThere).toEqual(expect.arrayContaining(staged));
    expect(await s3Failure(t.s3.send(new HeadObjectCommand({ Bucket: 'victim', Key: 'secret.bin' })))).toEqual({ code: 'NotFound', status: 404 });
  });
});
