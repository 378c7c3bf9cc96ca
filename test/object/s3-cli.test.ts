// The command line on S3 storage, run as users run it (the built binary in a child process)
// against s3rver on loopback: format --storage s3 with stored and encrypted keys, the error that
// names the missing key, and objbench.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Run the CLI without blocking this process (s3rver runs in it and must keep answering). */
function strata(env: Record<string, string | undefined>, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const clean = { ...process.env, STRATA_KEY: undefined, STRATA_KEY_FILE: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, ...env };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: clean as NodeJS.ProcessEnv, timeout: 120_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

let srv: RunningS3rver;
let dir: string;
beforeAll(async () => {
  srv = await startS3rver();
  dir = await mkdtemp(join(tmpdir(), 'strata-s3cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await srv?.stop();
});

describe('strata on S3 storage', () => {
  it('formats with --storage s3 and the keys, and status shows where without the keys', async () => {
    const meta = `sqlite3://${join(dir, 'plain.db')}`;
    const url = srv.url('cli-plain', 'vols');
    const r = await strata({}, 'format', meta, 'plain', '--storage', 's3', '--bucket', url, '--access-key', S3RVER_ACCESS_KEY, '--secret-key', S3RVER_SECRET_KEY);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`data: ${url}`);
    expect(r.out).toContain('credentials: stored');
    const status = await strata({}, 'status', meta, '--json');
    expect(status.code).toBe(0);
    const s = JSON.parse(status.out) as { settings: Record<string, unknown> };
    expect(s.settings).toMatchObject({ storage: url, storageCredentials: 'stored' });
    expect(status.out).not.toContain(S3RVER_SECRET_KEY);
    // The stored keys are what a later command opens the bucket with.
    const info = await strata({}, 'info', meta, '/');
    expect(info.err).toBe('');
    expect(info.code).toBe(0);
  });

  it('with --encrypt-keys needs the key to open, and says which variable or flag gives it', async () => {
    const meta = `sqlite3://${join(dir, 'sealed.db')}`;
    const url = srv.url('cli-sealed');
    const noKey = await strata({}, 'format', meta, 'sealed', '--bucket', url, '--access-key', S3RVER_ACCESS_KEY, '--secret-key', S3RVER_SECRET_KEY, '--encrypt-keys');
    expect(noKey.code).toBe(1);
    expect(noKey.err).toMatch(/--encrypt-keys needs the key to encrypt with: set STRATA_KEY or pass --key-file/);
    expect(existsSync(join(dir, 'sealed.db'))).toBe(false);

    const env = { STRATA_KEY: 'a long enough volume key' };
    const ok = await strata(env, 'format', meta, 'sealed', '--bucket', url, '--access-key', S3RVER_ACCESS_KEY, '--secret-key', S3RVER_SECRET_KEY, '--encrypt-keys');
    expect(ok.err).toBe('');
    expect(ok.out).toContain('credentials: stored, encrypted');
    const locked = await strata({}, 'info', meta, '/');
    expect(locked.code).toBe(1);
    expect(locked.err).toMatch(/encrypted and no key was given: set STRATA_KEY .*--key-file/);
    const opened = await strata(env, 'info', meta, '/');
    expect(opened.err).toBe('');
    expect(opened.code).toBe(0);
  });

  it('refuses mismatched storage flags with a usage error', async () => {
    const meta = `sqlite3://${join(dir, 'bad.db')}`;
    const cases: [string[], RegExp][] = [
      [['--storage', 's3'], /--storage s3 needs --bucket/],
      [['--storage', 's3', '--bucket', '/tmp/x'], /needs --bucket to be an s3:\/\/, http:\/\/ or https:\/\/ URL/],
      [['--storage', 'file', '--bucket', 's3://some-bucket'], /is S3 storage; add --storage s3/],
      [['--storage', 'gcs'], /--storage gcs is not a storage kind/],
    ];
    for (const [args, message] of cases) {
      const r = await strata({}, 'format', meta, 'bad', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
    expect(existsSync(join(dir, 'bad.db'))).toBe(false);
  });

  it('objbench checks the store and prints a throughput table, leaving nothing behind', async () => {
    const url = `http://${S3RVER_ACCESS_KEY}:${S3RVER_SECRET_KEY}@127.0.0.1:${srv.port}/cli-bench`;
    await srv.createBucket('cli-bench');
    const r = await strata({}, 'objbench', url, '--block-size', '1M', '--count', '32', '--small-count', '200', '--threads', '8');
    console.log(r.out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(S3RVER_SECRET_KEY);
    expect(r.out).not.toContain('FAILED');
    for (const row of ['put 1M', 'get 1M', 'put 4K', 'get 4K', 'head', 'list', 'delete']) expect(r.out).toContain(row);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(srv.directory, 'cli-bench'))).toEqual([]);
  });
});
