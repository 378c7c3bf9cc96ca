// A cache group in one process: real members serving real disk caches over loopback HTTP, on a
// real SQLite volume. What a reader gets is compared with what was written; where bytes came
// from is read off the clients' own counters.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';
import { GroupKey, SUMS_MAC_HEADER, TOKEN_HEADER } from '../../src/cachegroup/token.js';
import { GroupServer } from '../../src/cachegroup/server.js';
import { cacheSums, piecesMatch } from '../../src/chunk/cache-file.js';
import { DiskCache } from '../../src/chunk/disk-cache.js';
import { startGateway } from '../../src/gateway/server.js';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CacheGroupOptions } from '../../src/cachegroup/group.js';

const BLOCK = 64 * 1024;
let dir: string;
let metaUrl: string;
const files = new Map<string, Buffer>();
const open_: Volume[] = [];

let serial = 0;
const cacheDirs = new Map<string, string>();

/** A client of the volume in group g1; `cache`: with a disk cache of its own (fresh). */
async function member(name: string, extra: Partial<CacheGroupOptions> = {}, cache = true): Promise<Volume> {
  const cacheDir = join(dir, `cache-${name}-${++serial}`);
  cacheDirs.set(name, cacheDir);
  const vol = await Volume.open(metaUrl, {
    client: name, cacheDir: cache ? cacheDir : null,
    cacheGroup: { name: 'g1', listen: '127.0.0.1:0', heartbeatMs: 100, ...extra },
  });
  open_.push(vol);
  return vol;
}

async function keysOf(vol: Volume): Promise<string[]> {
  const keys: string[] = [];
  for (const path of files.keys()) for (const c of (await vol.info(path)).chunks) for (const s of c.slices) keys.push(...s.keys);
  return keys;
}

/** Until every one of `vols` sees `n` members (views converge within a heartbeat or two). */
async function settled(vols: Volume[], n: number): Promise<void> {
  while (!vols.every((v) => v.cacheGroup!.members().length === n)) await new Promise((r) => setTimeout(r, 20));
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readAll(vol: Volume): Promise<void> {
  for (const [path, data] of files) expect(sha(await vol.readFile(path)), path).toBe(sha(data));
}

async function close(...vols: Volume[]): Promise<void> {
  for (const v of vols) {
    open_.splice(open_.indexOf(v), 1);
    await v.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-group-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'grp', storage: `file://${join(dir, 'data')}`, blockSize: BLOCK, trashDays: 0 });
  const writer = await Volume.open(metaUrl, { cacheDir: null });
  for (let i = 0; i < 6; i++) {
    const data = Buffer.alloc(BLOCK * 5 + 1000 * i);
    for (let j = 0; j < data.length; j += 4096) data.writeUInt32LE((i * 7919 + j) >>> 0, j);
    files.set(`/f${i}`, data);
    await writer.writeFile(`/f${i}`, data);
  }
  await writer.close();
});

afterAll(async () => {
  for (const v of open_.splice(0)) await v.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('cache group', () => {
  it('a warmed group serves every block: the client reads all of it and fetches nothing from storage', async () => {
    const a = await member('a');
    const b = await member('b');
    const client = await member('c', { sharing: false }, false);
    const group = client.cacheGroup!;
    expect(group.members().map((m) => m.address).sort()).toEqual([a.cacheGroup!.address, b.cacheGroup!.address].sort());
    const keys = await keysOf(client);
    for (const k of keys) await group.warm(k);
    await readAll(client);
    const s = client.vfs.store.stats() as unknown as Record<string, number>;
    expect(s.blocksRead).toBe(0);
    expect(s.remoteHits).toBe(keys.length);
    expect(s.peers).toBe(2);
    // Each block sits on its owner only (no backup asked for): about half on each.
    const held = await Promise.all(keys.map((k) => group.holders(k)));
    expect(held.every((h) => h.length === 1 && h[0] === group.placement(keys[held.indexOf(h)]!)[0]!.address)).toBe(true);
    await close(client, a, b);
  });

  it('a request without a valid group token gets 403 and no bytes', async () => {
    const a = await member('a');
    const key = (await keysOf(a))[0]!;
    const url = `http://${a.cacheGroup!.address}/v1/blocks/${encodeURIComponent(key)}`;
    for (const headers of [{}, { [TOKEN_HEADER]: `${Date.now()}.${'0'.repeat(64)}` }, { [TOKEN_HEADER]: 'nonsense' }] as Record<string, string>[]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(403);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    const put = await fetch(url, { method: 'PUT', body: Buffer.alloc(10) });
    expect(put.status).toBe(403);
    await close(a);
  });

  it('with backup every block is on two members, and a member leaving costs no hit', async () => {
    const a = await member('a', { backup: true });
    const b = await member('b', { backup: true });
    const c = await member('c2', { backup: true });
    const client = await member('reader', { sharing: false }, false);
    await settled([a, b, c, client], 3);
    const group = client.cacheGroup!;
    expect(group.backup).toBe(true);
    const keys = await keysOf(client);
    for (const k of keys) await group.warm(k);
    const held = await Promise.all(keys.map((k) => group.holders(k)));
    expect(held.map((h) => h.length)).toEqual(held.map(() => 2));
    await close(b);
    await new Promise((r) => setTimeout(r, 300));
    const reader = await member('reader2', { sharing: false }, false);
    await readAll(reader);
    const s = reader.vfs.store.stats() as unknown as Record<string, number>;
    expect(s.blocksRead).toBe(0);
    expect(s.remoteHits).toBe(keys.length);
    await close(reader, client, a, c);
  });

  it('a damaged copy on a member is caught by the reader, counted, refetched, and replaced', async () => {
    const a = await member('a');
    const client = await member('c', { sharing: false }, false);
    const keys = await keysOf(client);
    for (const k of keys) await client.cacheGroup!.warm(k);
    // Flip one byte in every cached block file of the member.
    const cacheRoot = cacheDirs.get('a')!;
    const damaged: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/_\d+_\d+$/.test(e.name)) {
          const fh = await open(p, 'r+');
          const one = Buffer.alloc(1);
          await fh.read(one, 0, 1, 100);
          one[0] ^= 0xff;
          await fh.write(one, 0, 1, 100);
          await fh.close();
          damaged.push(p);
        }
      }
    };
    await walk(cacheRoot);
    expect(damaged.length).toBe(keys.length);
    await readAll(client);
    const s = client.vfs.store.stats() as unknown as Record<string, number>;
    expect(s.remoteCorrupt).toBe(keys.length);
    expect(s.remoteHits).toBe(0);
    expect(s.blocksRead).toBe(keys.length);
    // The reader sent the good copy back to the owner: a new reader is served by the group.
    await new Promise((r) => setTimeout(r, 500));
    const again = await member('c3', { sharing: false }, false);
    await readAll(again);
    expect((again.vfs.store.stats() as unknown as Record<string, number>).remoteHits).toBe(keys.length);
    await close(again, client, a);
  });

  it('a small file just written is sent to its owner: the next reader gets it from the group', async () => {
    const a = await member('a');
    const writer = await member('w', { sharing: false }, false);
    const data = Buffer.from('small file, one partial block '.repeat(100));
    await writer.writeFile('/small', data);
    const key = (await writer.info('/small')).chunks[0]!.slices[0]!.keys[0]!;
    await until(async () => (await writer.cacheGroup!.holders(key)).length === 1);
    const r = await member('r', { sharing: false }, false);
    expect(Buffer.compare(await r.readFile('/small'), data)).toBe(0);
    expect((r.vfs.store.stats() as unknown as Record<string, number>).remoteHits).toBe(1);
    expect((r.vfs.store.stats() as unknown as Record<string, number>).blocksRead).toBe(0);
    await r.unlink('/small');
    await close(r, writer, a);
  });

  it('a member refuses blocks whose checksums lack the group MAC or do not match the bytes', async () => {
    const a = await member('a');
    const keys = await keysOf(a);
    const key = keys[0]!;
    const secret = await a.vfs.meta.groupSecret('g1', 'unused');
    const gk = new GroupKey(secret, 'g1');
    const path = `/v1/blocks/${encodeURIComponent(key)}`;
    const data = Buffer.alloc(Number(/_(\d+)$/.exec(key)![1]), 7);
    const sums = cacheSums(key, data);
    const put = (mac: string, body: Buffer) => fetch(`http://${a.cacheGroup!.address}${path}`, {
      method: 'PUT', body, headers: { [TOKEN_HEADER]: gk.token('PUT', path), [SUMS_MAC_HEADER]: mac },
    });
    expect((await put('0'.repeat(64), Buffer.concat([data, sums]))).status).toBe(422);
    const other = Buffer.from(data).fill(8);
    expect((await put(gk.sumsMac(key, 0, sums), Buffer.concat([other, sums]))).status).toBe(422);
    expect(await a.cacheGroup!.holders(key)).toEqual([]);
    // The same request done right is taken (so the refusals above were about the checks).
    expect((await put(gk.sumsMac(key, 0, sums), Buffer.concat([data, sums]))).status).toBe(204);
    expect(await a.cacheGroup!.holders(key)).toEqual([a.cacheGroup!.address]);
    await close(a);
  });

  it('a member serves a range of a block\'s pieces with their checksums, which match those bytes', async () => {
    const a = await member('a');
    const c = await member('c', { sharing: false }, false);
    const key = (await keysOf(c))[0]!;
    await c.cacheGroup!.warm(key);
    const gk = new GroupKey(await a.vfs.meta.groupSecret('g1', 'unused'), 'g1');
    const path = `/v1/blocks/${encodeURIComponent(key)}?first=1&count=1`;
    const res = await fetch(`http://${a.cacheGroup!.address}${path}`, { headers: { [TOKEN_HEADER]: gk.token('GET', path) } });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const whole = await c.readFile('/f0');
    const piece = 32 * 1024;
    expect(body.byteLength).toBe(piece + 8);
    expect(Buffer.compare(body.subarray(0, piece), whole.subarray(piece, 2 * piece))).toBe(0);
    expect(piecesMatch(key, body.subarray(0, piece), body.subarray(piece))).toBe(true);
    expect(gk.sumsMacMatches(key, 1, body.subarray(piece), res.headers.get(SUMS_MAC_HEADER))).toBe(true);
    const bad = `/v1/blocks/${encodeURIComponent(key)}?first=1&count=99`;
    expect((await fetch(`http://${a.cacheGroup!.address}${bad}`, { headers: { [TOKEN_HEADER]: gk.token('GET', bad) } })).status).toBe(400);
    await close(c, a);
  });

  it('a member busier than its limit answers 429 at once instead of queueing', async () => {
    const cache = new DiskCache({ dirs: [join(dir, 'busy')], size: 1 << 30 }, 'busy');
    const gk = new GroupKey('s', 'g');
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const server = await GroupServer.listen({ cache, key: gk, maxBlockLength: 1 << 20, maxConcurrent: 1, stats: () => ({}), warm: async () => { await held; return 'cached'; } }, '127.0.0.1', 0);
    const key = 'chunks/0/0/1_0_4096';
    const get = (fill: boolean) => {
      const path = `/v1/blocks/${encodeURIComponent(key)}${fill ? '?fill=1' : ''}`;
      return fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { [TOKEN_HEADER]: gk.token('GET', path) } });
    };
    const slow = get(true);
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(false)).status).toBe(429);
    release();
    expect((await slow).status).toBe(404);
    expect((await get(false)).status).toBe(404);
    await server.close();
  });

  it('a gateway in the group is one member, and an object it stores is read from the group', async () => {
    const gw = await startGateway({
      metaUrl, host: '127.0.0.1', port: 0, accessKey: 'AKIAGROUPTEST', secretKey: 'group-test-secret-key', log: () => undefined,
      volume: { cacheDir: join(dir, `gw-cache-${++serial}`), cacheGroup: { name: 'gw', listen: '127.0.0.1:0', heartbeatMs: 100 } },
    });
    try {
      const s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AKIAGROUPTEST', secretAccessKey: 'group-test-secret-key' } });
      await s3.send(new CreateBucketCommand({ Bucket: 'bkt' }));
      const body = Buffer.alloc(BLOCK + 5000, 3);
      await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'obj', Body: body }));
      s3.destroy();
      const view = await Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name: 'gw', sharing: false } });
      open_.push(view);
      expect(view.cacheGroup!.members()).toHaveLength(1);
      expect(Buffer.compare(await view.readFile('/bkt/obj'), body)).toBe(0);
      const st = view.vfs.store.stats() as unknown as Record<string, number>;
      expect(st.blocksRead).toBe(0);
      expect(st.remoteHits + st.remoteFills).toBe(2);
      await close(view);
    } finally {
      await gw.close();
    }
  });

  it('group flags are checked: a sharing member needs a disk cache, a bad group name is refused', async () => {
    await expect(Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name: 'g1', listen: '127.0.0.1:0' } })).rejects.toThrow(/needs a disk cache/);
    await expect(Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name: 'bad name', sharing: false } })).rejects.toThrow(/cache group name/);
    await expect(Volume.open(metaUrl, { cacheDir: join(dir, 'x'), cacheGroup: { name: 'g1', listen: 'nohost' } })).rejects.toThrow(/host:port/);
    await expect(Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name: 'g1.member', sharing: false } })).rejects.toThrow(/cache group name/);
    await expect(Volume.open(metaUrl, { cacheDir: join(dir, 'x'), cacheGroup: { name: 'g1', listen: '127.0.0.1:0', address: 'a/b:80' } })).rejects.toThrow(/host:port/);
  });

  it('a member row no client can use (left by another version, or damaged) leaves that member out, not the group', async () => {
    const a = await member('a');
    await a.vfs.meta.groupBeat('g1', { id: 'bogus', address: 'a/b:80', weight: 1, backup: false, startedMs: Date.now() });
    const c = await member('c', { sharing: false }, false);
    expect(c.cacheGroup!.members().map((m) => m.address)).toEqual([a.cacheGroup!.address]);
    await readAll(c);
    await a.vfs.meta.groupLeave('g1', 'bogus');
    await close(c, a);
  });
});
