// A volume on a misbehaving S3 (s3rver behind the fault proxy): under a 10% fault rate a big
// write + read round trip is byte-identical; with the store down longer than the retry budget the
// caller gets EIO; and afterwards an fsck-style pass finds every block that metadata refers to in
// the store. Size: STRATA_FLAKY_MIB (default 128; the full run is 1024).
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { openObjectStore } from '../../src/object/open.js';
import { PrefixedObjectStore } from '../../src/object/prefix.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.STRATA_FLAKY_MIB ?? 128);
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };

let srv: RunningS3rver;
let proxy: FaultProxy;
let dir: string;
let metaUrl: string;
const bucket = `flaky-${process.pid}`;

beforeAll(async () => {
  srv = await startS3rver();
  proxy = await startFaultProxy({ targetPort: srv.port, rate: 0 });
  dir = await mkdtemp(join(tmpdir(), 'strata-flaky-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'flaky', storage: `${proxy.endpoint}/${bucket}`, blockSize: MiB, trashDays: 0, ...creds });
});
afterAll(async () => {
  await proxy?.close();
  await srv?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Every block key metadata refers to, file by file. */
async function referencedBlocks(vol: Volume, path = '/'): Promise<string[]> {
  const keys: string[] = [];
  for (const d of await vol.readdir(path, { withFileTypes: true })) {
    const p = `${path === '/' ? '' : path}/${d.name}`;
    if (d.isDirectory()) keys.push(...await referencedBlocks(vol, p));
    else if (d.isFile()) for (const c of (await vol.info(p)).chunks) for (const s of c.slices) keys.push(...s.keys);
  }
  return keys;
}

describe('a volume on a flaky S3', () => {
  it(`${SIZE_MIB} MiB written and read back under a 10% fault rate is byte-identical`, async () => {
    proxy.rate = 0.1;
    // No disk cache: every read goes to the flaky store.
    // A stalled request is abandoned after 2 s (not the default minute).
    const vol = await Volume.open(metaUrl, { cacheDir: null, memoryCacheSize: 8 * MiB, requestTimeoutMs: 2000 });
    const h = await vol.open('/big', 'w');
    const buf = Buffer.alloc(MiB);
    const want = createHash('sha256');
    for (let i = 0; i < SIZE_MIB; i++) {
      randomFillSync(buf);
      want.update(buf);
      await h.write(buf, 0, MiB, i * MiB);
    }
    await h.close();
    const got = createHash('sha256');
    const r = await vol.open('/big', 'r');
    for (let i = 0; i < SIZE_MIB; i++) {
      const { bytesRead } = await r.read(buf, 0, MiB, i * MiB);
      expect(bytesRead).toBe(MiB);
      got.update(buf);
    }
    await r.close();
    expect(got.digest('hex')).toBe(want.digest('hex'));
    const injected = Object.values(proxy.injected).reduce((a, b) => a + b, 0);
    expect(injected).toBeGreaterThan(0);
    proxy.rate = 0;
    await vol.close();
  }, 300_000);

  it('with the store down past the retry budget: EIO naming the block, and afterwards metadata refers only to stored blocks', async () => {
    const vol = await Volume.open(metaUrl, { cacheDir: null, ioRetries: 2 });
    await vol.writeFile('/before', Buffer.alloc(3 * MiB + 5, 1));
    proxy.down('refuse');
    const whole = await vol.writeFile('/whole', Buffer.alloc(2 * MiB, 2)).then(() => null, (e: Error & { code?: string }) => e);
    expect(whole?.code).toBe('EIO');
    expect(whole?.message).toMatch(/chunks\/\d+\/\d+\/\d+_\d+_\d+/);
    const h = await vol.open('/streamed', 'w');
    await h.write(Buffer.alloc(MiB + 100, 3));
    const closed = await h.close().then(() => null, (e: Error & { code?: string }) => e);
    expect(closed?.code).toBe('EIO');
    const read = await vol.readFile('/before').then(() => null, (e: Error & { code?: string }) => e);
    expect(read?.code).toBe('EIO');
    proxy.up();
    // The failed files hold nothing (or do not exist); nothing refers to a block that is missing.
    expect(await vol.readdir('/')).not.toContain('whole');
    expect((await vol.stat('/streamed')).size).toBe(0);
    const objects = new PrefixedObjectStore(await openObjectStore(srv.url(bucket), creds), 'flaky');
    const keys = await referencedBlocks(vol);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(await objects.head(k), k).toBeDefined();
    await objects.close();
    expect((await vol.readFile('/before')).equals(Buffer.alloc(3 * MiB + 5, 1))).toBe(true);
    await vol.close();
  }, 120_000);
});
