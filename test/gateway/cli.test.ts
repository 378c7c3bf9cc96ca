// `strata gateway META_URL ADDRESS`, the built CLI run as a child process: credentials from
// flags or the environment, usage errors, serving, and a clean stop on SIGTERM / SIGINT.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/cli/address.js';
import { Volume } from '../../src/index.js';
import { s3Failure } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The built CLI (the test command builds dist/ first), as users run it.
const RUNNER = [join(ROOT, 'dist/src/cli/main.js')];
const ENV = { STRATA_GATEWAY_ACCESS_KEY: 'CLIKEY', STRATA_GATEWAY_SECRET_KEY: 'cli-secret-key' };

let dir: string;
let metaUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-gw-cli-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'cli', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function strata(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [...RUNNER, ...args], { encoding: 'utf8', timeout: 60_000, cwd: ROOT, env: { ...process.env, STRATA_GATEWAY_ACCESS_KEY: '', STRATA_GATEWAY_SECRET_KEY: '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Start the gateway; resolves with its URL once it says it is serving. */
function serve(args: string[], env: Record<string, string> = ENV): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...RUNNER, 'gateway', metaUrl, '127.0.0.1:0', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1], stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

function client(url: string, key = ENV.STRATA_GATEWAY_ACCESS_KEY, secret = ENV.STRATA_GATEWAY_SECRET_KEY): S3Client {
  return new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: key, secretAccessKey: secret } });
}

describe('strata gateway', () => {
  it('parses addresses', () => {
    expect(parseAddress('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseAddress(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseAddress('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['', 'host', 'host:', 'host:99999', '::1:9000', 'a b:1', 'host:port']) expect(() => parseAddress(bad), bad).toThrow(/ADDRESS must be/);
  });

  it('refuses bad usage with exit code 2 and a clear message', () => {
    const none = strata({}, 'gateway', metaUrl, '127.0.0.1:0');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/needs root credentials.*STRATA_GATEWAY_ACCESS_KEY/);
    const addr = strata(ENV, 'gateway', metaUrl, 'nowhere');
    expect(addr.code).toBe(2);
    expect(addr.err).toMatch(/ADDRESS must be/);
    const short = strata({ STRATA_GATEWAY_ACCESS_KEY: 'AK', STRATA_GATEWAY_SECRET_KEY: 'x' }, 'gateway', metaUrl, '127.0.0.1:0');
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/access key must be/);
    const conns = strata(ENV, 'gateway', metaUrl, '127.0.0.1:0', '--max-connections', '0');
    expect(conns.code).toBe(2);
    expect(conns.err).toMatch(/--max-connections takes a whole number of at least 1, got "0"/);
    const proxy = strata(ENV, 'gateway', metaUrl, '127.0.0.1:0', '--trusted-proxy', '10.0.0.0/33');
    expect([proxy.code, proxy.err]).toEqual([2, expect.stringMatching(/--trusted-proxy takes an IP address or CIDR range, got "10.0.0.0\/33"/)]);
    const noVolume = strata(ENV, 'gateway', `sqlite3://${join(dir, 'missing.db')}`, '127.0.0.1:0');
    expect(noVolume.code).toBe(1);
    expect(noVolume.err).toMatch(/strata: /);
  }, 60_000);

  it('serves the volume with credentials from the environment and stops cleanly on SIGTERM', async () => {
    const { child, url, stderr } = await serve([]);
    const s3 = client(url);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'cli-bucket' }));
      await s3.send(new PutObjectCommand({ Bucket: 'cli-bucket', Key: 'k', Body: 'from the CLI' }));
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'cli-bucket', Key: 'k' }))).Body!.transformToString()).toBe('from the CLI');
      expect(await s3Failure(client(url, 'CLIKEY', 'wrong-secret!').send(new GetObjectCommand({ Bucket: 'cli-bucket', Key: 'k' })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    } finally {
      s3.destroy();
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
    expect(stderr()).toMatch(/SIGTERM.*\n.*gateway closed/);
    // The session it held is gone and the data is on the volume.
    const vol = await Volume.open(metaUrl);
    try {
      expect(await vol.readFile('/cli-bucket/k', 'utf8')).toBe('from the CLI');
      expect((await vol.vfs.meta.sessions()).filter((s) => String(s.info.client).startsWith('gateway'))).toEqual([]);
    } finally {
      await vol.close();
    }
  }, 60_000);

  it('takes credentials from flags, --read-only refuses changes, SIGINT stops it', async () => {
    const { child, url } = await serve(['--access-key', 'FLAGKEY', '--secret-key', 'flag-secret-key', '--read-only'], {});
    const s3 = client(url, 'FLAGKEY', 'flag-secret-key');
    try {
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'cli-bucket', Key: 'k' }))).Body!.transformToString()).toBe('from the CLI');
      expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'cli-bucket', Key: 'k2', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
    } finally {
      s3.destroy();
      child.kill('SIGINT');
    }
    expect(await exited(child)).toBe(0);
  }, 60_000);
});
