// A volume on S3 (s3rver on loopback): format stores the bucket's credentials in the volume's
// settings (plain, or sealed with --encrypt-keys), and every later open reaches the bucket with
// them; a sealed volume opened without its key says which variable or flag supplies it; bad
// input at format changes nothing.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { openMeta } from '../../src/meta/index.js';
import { openObjectStore } from '../../src/object/open.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { rejectionOf } from './rejection.js';

let srv: RunningS3rver;
let dir: string;
let metaUrl: string;
let n = 0;
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };
const KEY_VARS = ['STRATA_KEY', 'STRATA_KEY_FILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const saved: Partial<Record<(typeof KEY_VARS)[number], string>> = {};

beforeAll(async () => {
  srv = await startS3rver();
  // The stored credentials must be what makes these volumes work, not the environment.
  for (const k of KEY_VARS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
});
afterAll(async () => {
  for (const k of KEY_VARS) if (saved[k] !== undefined) process.env[k] = saved[k];
  await srv?.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-s3vol-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
});
afterEach(async () => {
  delete process.env.STRATA_KEY;
  await rm(dir, { recursive: true, force: true });
});

const bucket = () => `vol-${process.pid}-${++n}`;

async function roundTrip(vol: Volume, path: string, data: Buffer): Promise<void> {
  await vol.writeFile(path, data);
  expect((await vol.readFile(path)).equals(data)).toBe(true);
}

describe('a volume on S3', () => {
  it('formats with --access-key/--secret-key, creates the bucket, and opens with the stored keys', async () => {
    const b = bucket();
    const result = await Volume.format(metaUrl, { name: 'v1', storage: srv.url(b, 'vols'), blockSize: 64 * 1024, ...creds });
    expect(result.created).toBe(true);
    const settings = await (async () => {
      const meta = await openMeta(metaUrl);
      try {
        return await meta.settings();
      } finally {
        await meta.close();
      }
    })();
    expect(settings.storage).toBe(srv.url(b, 'vols'));
    expect(JSON.parse(settings.storageCredentials!)).toEqual(creds);

    const data = randomBytes(300 * 1024);
    const vol = await Volume.open(metaUrl);
    try {
      await roundTrip(vol, '/big.bin', data);
    } finally {
      await vol.close();
    }
    // The blocks are in the bucket, under the URL's prefix and the volume's name.
    const bucketStore = await openObjectStore(srv.url(b), creds);
    const keys = (await bucketStore.list({ prefix: 'vols/v1/' })).objects.map((o) => o.key);
    await bucketStore.close();
    expect(keys.length).toBeGreaterThanOrEqual(5);
    expect(keys.every((k) => /^vols\/v1\/chunks\//.test(k))).toBe(true);

    const again = await Volume.open(metaUrl);
    try {
      expect((await again.readFile('/big.bin')).equals(data)).toBe(true);
    } finally {
      await again.close();
    }
  });

  it('takes the keys from the storage URL too, and never stores them in the URL', async () => {
    const b = bucket();
    await Volume.format(metaUrl, { name: 'v2', storage: `http://${S3RVER_ACCESS_KEY}:${S3RVER_SECRET_KEY}@127.0.0.1:${srv.port}/${b}` });
    const meta = await openMeta(metaUrl);
    const settings = await meta.settings();
    await meta.close();
    expect(settings.storage).toBe(srv.url(b));
    expect(settings.storageCredentials).toBeDefined();
    const vol = await Volume.open(metaUrl);
    await roundTrip(vol, '/f', Buffer.from('hello'));
    await vol.close();
  });

  it('with --encrypt-keys stores the keys sealed, and opens only with the key', async () => {
    const b = bucket();
    const keyFile = join(dir, 'volume.key');
    await writeFile(keyFile, 'correct horse battery staple\n');
    await Volume.format(metaUrl, { name: 'v3', storage: srv.url(b), ...creds, encryptKeys: true, keyFile });
    const meta = await openMeta(metaUrl);
    const stored = (await meta.settings()).storageCredentials!;
    await meta.close();
    expect(stored.startsWith('sealed:v1:')).toBe(true);
    expect(stored).not.toContain(S3RVER_SECRET_KEY);
    expect(Buffer.from(stored.slice('sealed:v1:'.length), 'base64').includes(S3RVER_SECRET_KEY)).toBe(false);

    const missing = await rejectionOf(Volume.open(metaUrl));
    expect(missing.code).toBe('EACCES');
    expect(missing.message).toContain('STRATA_KEY');
    expect(missing.message).toContain('--key-file');
    expect(missing.message).toContain('--encrypt-keys');

    process.env.STRATA_KEY = 'wrong key entirely';
    const wrong = await rejectionOf(Volume.open(metaUrl));
    expect(wrong.code).toBe('EACCES');
    expect(wrong.message).toMatch(/does not decrypt/);

    process.env.STRATA_KEY = 'correct horse battery staple';
    const vol = await Volume.open(metaUrl);
    await roundTrip(vol, '/secret', Buffer.from('sealed and delivered'));
    await vol.close();
  });

  it('refuses bad credential input at format, creating neither a volume nor a bucket', async () => {
    const b = bucket();
    const cases: [Parameters<typeof Volume.format>[1], RegExp][] = [
      [{ name: 'x', storage: srv.url(b), ...creds, encryptKeys: true }, /--encrypt-keys needs the key .*STRATA_KEY.*--key-file/],
      [{ name: 'x', storage: srv.url(b), encryptKeys: true, keyFile: join(dir, 'k') }, /nothing to encrypt/],
      [{ name: 'x', storage: srv.url(b), accessKey: 'only' }, /both --access-key and --secret-key/],
      [{ name: 'x', storage: `http://a:b@127.0.0.1:${srv.port}/${b}`, ...creds }, /given twice/],
      [{ name: 'x', storage: `file://${join(dir, 'data')}`, ...creds }, /local directory takes no credentials/],
      [{ name: 'x', storage: srv.url(b), ...creds, keyFile: join(dir, 'k') }, /--key-file is for --encrypt-keys/],
    ];
    for (const [options, message] of cases) {
      const err = await rejectionOf(Volume.format(metaUrl, options));
      expect(err.code, JSON.stringify(options)).toBe('EINVAL');
      expect(err.message).toMatch(message);
    }
    // Unknown keys: refused by the store before anything is recorded.
    const denied = await rejectionOf(Volume.format(metaUrl, { name: 'x', storage: srv.url(b), accessKey: 'NOT-A-KEY', secretKey: 'x' }));
    expect(denied.code).toBe('EACCES');
    expect(existsSync(join(dir, 'meta.db'))).toBe(false);
    expect(await readdir(srv.directory)).not.toContain(b);
  });
});
