// The AWS CLI against the gateway: a tree round-trips byte for byte through `aws s3 sync` and
// `aws s3 cp` (multipart for the big file), `aws s3 ls/rm` and `aws s3api` see what they should.
// Skipped, with a message, when no `aws` is installed (Debian: apt-get install awscli).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_VERSION as AWS, awscli, runAws } from './aws-cli.js';
import { ACCESS_KEY, SECRET_KEY, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;
let work: string;

const aws = (...args: string[]) => runAws(t.gw.url, work, { id: ACCESS_KEY, secret: SECRET_KEY }, null, args);

async function ok(...args: string[]): Promise<string> {
  const r = await aws(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out;
}

/** path → sha256 of every file below `dir`. */
async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
  }
  return out;
}

describe.skipIf(awscli.skip)(`aws CLI (${AWS ?? 'absent'})`, () => {
  beforeAll(() => awscli.check());
  beforeAll(async () => {
    t = await startTestGateway();
    work = await mkdtemp(join(tmpdir(), 'strata-awscli-'));
  });

  afterAll(async () => {
    await t?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('round-trips a tree with sync and cp', async () => {
    const src = join(work, 'src');
    const files: Record<string, Buffer> = {
      'top.txt': Buffer.from('top level\n'),
      'empty.bin': Buffer.alloc(0),
      'docs/read me.md': Buffer.from('# spaces in names\n'),
      'docs/ünïcödé.txt': Buffer.from('unicode\n'),
      'docs/deep/er/nested.json': Buffer.from('{"a":1}\n'),
      'data/small.bin': randomBytes(70_000),
      // Over the CLI's 8 MB multipart threshold.
      'data/big.bin': randomBytes(19 * 1024 * 1024 + 5),
    };
    for (const [p, body] of Object.entries(files)) {
      await mkdir(join(src, p, '..'), { recursive: true });
      await writeFile(join(src, p), body);
    }
    await ok('s3', 'mb', 's3://awscli');
    await ok('s3', 'sync', src, 's3://awscli/tree');
    // The files are on the volume where their keys say.
    expect((await t.vol.readFile('/awscli/tree/docs/deep/er/nested.json')).equals(files['docs/deep/er/nested.json'])).toBe(true);
    expect((await t.vol.stat('/awscli/tree/data/big.bin')).size).toBe(files['data/big.bin'].length);

    const listed = await ok('s3', 'ls', '--recursive', 's3://awscli/tree/');
    for (const p of Object.keys(files)) expect(listed, p).toContain(`tree/${p}`);
    const top = await ok('s3', 'ls', 's3://awscli/tree/');
    expect(top).toMatch(/PRE data\//);
    expect(top).toMatch(/PRE docs\//);

    // A second sync has nothing to do.
    expect((await ok('s3', 'sync', src, 's3://awscli/tree')).trim()).toBe('');

    const back = join(work, 'back');
    await ok('s3', 'sync', 's3://awscli/tree', back);
    expect(await digests(back)).toEqual(await digests(src));

    await ok('s3', 'cp', join(src, 'data/big.bin'), 's3://awscli/copy/big.bin');
    await ok('s3', 'cp', 's3://awscli/copy/big.bin', join(work, 'big-again.bin'));
    expect((await readFile(join(work, 'big-again.bin'))).equals(files['data/big.bin'])).toBe(true);
    // Server-side copy (CopyObject, or UploadPartCopy for the big one).
    await ok('s3', 'cp', 's3://awscli/copy/big.bin', 's3://awscli/copy/big-2.bin');
    expect((await t.vol.readFile('/awscli/copy/big-2.bin')).equals(files['data/big.bin'])).toBe(true);

    const head = JSON.parse(await ok('s3api', 'head-object', '--bucket', 'awscli', '--key', 'tree/top.txt')) as { ContentLength: number; ETag: string };
    expect(head.ContentLength).toBe(files['top.txt'].length);
    expect(head.ETag).toBe(`"${createHash('md5').update(files['top.txt']).digest('hex')}"`);
    const v2 = JSON.parse(await ok('s3api', 'list-objects-v2', '--bucket', 'awscli', '--prefix', 'tree/docs/', '--delimiter', '/')) as { Contents: { Key: string }[]; CommonPrefixes: { Prefix: string }[] };
    expect(v2.Contents.map((c) => c.Key).sort()).toEqual(['tree/docs/read me.md', 'tree/docs/ünïcödé.txt']);
    expect(v2.CommonPrefixes).toEqual([{ Prefix: 'tree/docs/deep/' }]);
    const missing = await aws('s3api', 'head-object', '--bucket', 'awscli', '--key', 'nope');
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/404|Not Found/);

    await ok('s3', 'rm', '--recursive', 's3://awscli/tree');
    // `aws s3 ls` exits 1 when nothing matches.
    const gone = await aws('s3', 'ls', '--recursive', 's3://awscli/tree/');
    expect([gone.code, gone.out.trim()]).toEqual([1, '']);
    expect(await t.vol.readdir('/awscli')).toEqual(['copy']);
    await ok('s3', 'rm', '--recursive', 's3://awscli/');
    await ok('s3', 'rb', 's3://awscli');
    expect(await t.vol.readdir('/')).not.toContain('awscli');
  }, 300_000);
});
