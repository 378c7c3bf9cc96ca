// Cache-group members as separate processes (strata cache-server) and what a reader sees when
// they fail: killed in the middle of transfers, stopped (SIGSTOP), with a full cache disk; and
// two readers of one dataset costing one object-store GET per block. Every read is compared with
// what was written: the group may cost time, never bytes.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCacheMember, type CacheMember } from '../../bench/cache-members.js';
import { Volume } from '../../src/index.js';
import { mountTmpfs, tmpfsNeed } from '../helpers/tmpfs.js';

const BLOCK = 256 * 1024;
let dir: string;
let metaUrl: string;
const files = new Map<string, Buffer>();
let members: CacheMember[] = [];
let readers: Volume[] = [];
let groupSerial = 0;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const stats = (v: Volume) => v.vfs.store.stats() as unknown as Record<string, number>;

const root = tmpfsNeed;

async function group(n: number, extra: { backup?: boolean; args?: string[]; cacheDirs?: string[] } = {}): Promise<{ name: string; members: CacheMember[] }> {
  const name = `g${++groupSerial}`;
  const started: CacheMember[] = [];
  for (let i = 0; i < n; i++) {
    started.push(await startCacheMember({ metaUrl, group: name, cacheDir: extra.cacheDirs?.[i] ?? join(dir, `${name}-m${i}`), backup: extra.backup, args: extra.args }));
  }
  members.push(...started);
  return { name, members: started };
}

async function reader(name: string): Promise<Volume> {
  const v = await Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name, sharing: false, heartbeatMs: 200 } });
  readers.push(v);
  return v;
}

async function keys(vol: Volume): Promise<string[]> {
  const out: string[] = [];
  for (const p of files.keys()) for (const c of (await vol.info(p)).chunks) for (const s of c.slices) out.push(...s.keys);
  return out;
}

async function readAllChecked(vol: Volume, concurrently = true): Promise<void> {
  const check = async ([p, data]: [string, Buffer]) => expect(sha(await vol.readFile(p)), p).toBe(sha(data));
  if (concurrently) await Promise.all([...files].map(check));
  else for (const f of files) await check(f);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-members-'));
  metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(metaUrl, { name: 'members', storage: `file://${join(dir, 'data')}`, blockSize: BLOCK, trashDays: 0 });
  const w = await Volume.open(metaUrl, { cacheDir: null });
  for (let i = 0; i < 8; i++) {
    const data = Buffer.alloc(BLOCK * 6 + 777 * i);
    for (let j = 0; j + 4 <= data.length; j += 512) data.writeUInt32LE((i * 104729 + j * 31) >>> 0, j);
    files.set(`/d${i}`, data);
    await w.writeFile(`/d${i}`, data);
  }
  await w.close();
}, 60_000);

afterEach(async () => {
  for (const r of readers.splice(0)) await r.close().catch(() => undefined);
  for (const m of members.splice(0)) await m.stop();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cache-group members in processes of their own', () => {
  it('a member killed in the middle of transfers: every read completes with the right bytes', async () => {
    const g = await group(2);
    const warmer = await reader(g.name);
    for (const k of await keys(warmer)) await warmer.cacheGroup!.warm(k);
    const r = await reader(g.name);
    const reading = readAllChecked(r);
    await until('the first blocks from the group', () => stats(r).remoteHits >= 2);
    g.members[0]!.signal('SIGKILL');
    await reading;
    const s = stats(r);
    expect(s.remoteHits + s.remoteFills + s.blocksRead).toBeGreaterThanOrEqual((await keys(r)).length);
    // A second pass: the dead member is skipped at once, and nothing is read wrong.
    await readAllChecked(r);
  }, 60_000);

  it('a stopped member (SIGSTOP) costs one timeout, then is skipped; after SIGCONT and a heartbeat it serves again', async () => {
    const g = await group(2);
    const r = await reader(g.name);
    for (const k of await keys(r)) await r.cacheGroup!.warm(k);
    g.members[0]!.signal('SIGSTOP');
    await readAllChecked(r, false);
    // The requests in flight when it stopped answering time out together; after that it is not asked.
    const failed = stats(r).remoteErrors;
    expect(failed).toBeGreaterThan(0);
    expect(stats(r).peers).toBe(1);
    await readAllChecked(r, false);
    expect(stats(r).remoteErrors).toBe(failed);
    g.members[0]!.signal('SIGCONT');
    await until('the member readmitted', () => stats(r).peers === 2);
    const again = await reader(g.name);
    await readAllChecked(again, false);
    expect(stats(again).remoteHits).toBe((await keys(again)).length);
  }, 60_000);

  it('two readers of one dataset through a cold group: about one object-store GET per block, not one per reader', async () => {
    const g = await group(2);
    const [a, b] = [await reader(g.name), await reader(g.name)];
    await Promise.all([readAllChecked(a), readAllChecked(b)]);
    const n = (await keys(a)).length;
    expect(stats(a).blocksRead + stats(b).blocksRead).toBe(0);
    const perMember = await a.cacheGroup!.memberStats();
    const storeGets = [...perMember.values()].reduce((t, s) => t + Number(s.groupStoreFills), 0);
    expect(storeGets).toBe(n);
  }, 60_000);

  describe.skipIf(root.skip)('a full cache disk', () => {
    let mnt: string;
    let unmount = () => undefined as void;
    beforeAll(async () => {
      root.check();
      mnt = join(dir, 'small');
      unmount = await mountTmpfs(mnt, 1);
    });
    afterAll(() => unmount());

    it('a member whose cache disk is full still lets every read complete, from the store', async () => {
      const g = await group(2, { args: ['--free-space-ratio', '0'], cacheDirs: [mnt, join(dir, 'roomy')] });
      const r = await reader(g.name);
      await readAllChecked(r);
      const s = stats(r);
      const n = (await keys(r)).length;
      expect(s.remoteHits + s.remoteFills + s.blocksRead).toBe(n);
      // The full member could keep only a few blocks; what it could not, came from the store.
      expect(s.blocksRead).toBeGreaterThan(0);
      await readAllChecked(r);
    }, 60_000);
  });
});
