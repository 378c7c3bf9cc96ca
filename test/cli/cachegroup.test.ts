// Cache groups from the command line, as users run them: `strata cache-server` members, `strata
// warmup --cache-group` filling and checking them, a FUSE mount joining the group and serving its
// cache, `strata stats` showing the group's counters, and bad invocations refused with a reason.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCacheMember, type CacheMember } from '../../bench/cache-members.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { Volume } from '../../src/index.js';
import { need } from '../helpers/require.js';
import { CLI, mountAgain } from '../fuse/mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const KiB = 1024;
let dir: string;
let url: string;
const running: CacheMember[] = [];

function strata(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-cli-group-'));
  url = `sqlite3://${join(dir, 'meta.db')}`;
  await Volume.format(url, { name: 'clig', storage: `file://${join(dir, 'data')}`, blockSize: 64 * KiB, trashDays: 0 });
  const vol = await Volume.open(url, { cacheDir: null });
  await vol.mkdir('/ds');
  for (let i = 0; i < 5; i++) await vol.writeFile(`/ds/f${i}`, Buffer.alloc(64 * KiB * 3 + i, i + 1));
  await vol.close();
});

afterEach(async () => {
  for (const m of running.splice(0)) await m.stop();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('strata cache-server and warmup --cache-group', () => {
  it('warmup fills each block\'s owner and backup; --check shows where the blocks are', async () => {
    for (let i = 0; i < 3; i++) running.push(await startCacheMember({ metaUrl: url, group: 'team', cacheDir: join(dir, `m${i}`), backup: true }));
    const warm = strata('warmup', '--meta', url, '--cache-group', 'team', '/ds');
    expect(warm.code, warm.err).toBe(0);
    expect(warm.out).toContain('5 files, 19 blocks');
    expect(warm.out).toContain('cache group "team" of 3 members');
    expect(warm.out).toMatch(/Warmed up 19 blocks: 19 fetched/);
    const check = strata('warmup', '--meta', url, '--cache-group', 'team', '--check', '/ds');
    expect(check.code, check.err).toBe(0);
    expect(check.out).toContain('19/19 blocks held by at least one member (100.0%); group backup on');
    // With backup, every block is on two members: the "blocks held" column adds up to 38.
    const held = running.map((m) => {
      const row = check.out.split('\n').find((l) => l.startsWith(m.address));
      expect(row, check.out).toBeDefined();
      return Number(row!.trim().split(/\s{2,}/)[3]);
    });
    expect(held.reduce((a, b) => a + b, 0)).toBe(38);
    const status = strata('status', url);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain('Cache group "team" (3 members registered)');
    for (const m of running) expect(status.out).toContain(m.address);
    const again = strata('warmup', '--meta', url, '--cache-group', 'team', '/ds');
    expect(again.out).toMatch(/Warmed up 19 blocks: 0 fetched/);
  }, 60_000);

  it('bad invocations say what is wrong and change nothing', () => {
    const noGroup = strata('cache-server', url, '--listen', '127.0.0.1:0', '--cache-dir', join(dir, 'x'));
    expect(noGroup.code).toBe(2);
    expect(noGroup.err).toContain('needs --cache-group NAME');
    const noDir = strata('cache-server', url, '--listen', '127.0.0.1:0', '--cache-group', 'g');
    expect(noDir.code).toBe(2);
    expect(noDir.err).toContain('needs --cache-dir DIR');
    const badListen = strata('cache-server', url, '--listen', 'nowhere', '--cache-group', 'g', '--cache-dir', join(dir, 'x'));
    expect(badListen.code).not.toBe(0);
    expect(badListen.err).toContain('host:port');
    const badName = strata('cache-server', url, '--listen', '127.0.0.1:0', '--cache-group', 'a b', '--cache-dir', join(dir, 'x'));
    expect(badName.code).not.toBe(0);
    expect(badName.err).toContain('--cache-group takes a name');
    const stray = strata('warmup', '--meta', url, '--cache-group', 'nobody', '/ds');
    expect(stray.code).not.toBe(0);
    expect(stray.err).toContain('has no live member');
    const flagsWithoutGroup = strata('mount', url, join(dir, 'mnt'), '--group-backup');
    expect(flagsWithoutGroup.code).toBe(2);
    expect(flagsWithoutGroup.err).toContain('--group-backup is for a cache group: add --cache-group NAME');
  }, 60_000);

  it.skipIf(fuse.skip)('a FUSE mount in the group serves what it caches; strata stats shows the group', async () => {
    fuse.check();
    const mnt = join(dir, 'mnt');
    const mount = await mountAgain(url, mnt, ['--cache-group', 'mounts', '--group-listen', '127.0.0.1:0', '--cache-dir', join(dir, 'mount-cache'), '--group-heartbeat', '0.2']);
    try {
      const data = Buffer.alloc(100 * KiB + 5, 9);
      await fs.writeFile(join(mnt, 'through-mount'), data);
      // A partial block written is cached by the writer, the group's only member: a reader in another
      // process gets it from there.
      const reader = await Volume.open(url, { cacheDir: null, cacheGroup: { name: 'mounts', sharing: false } });
      try {
        expect((await reader.readFile('/through-mount')).equals(data)).toBe(true);
        const s = reader.vfs.store.stats() as unknown as Record<string, number>;
        expect(s.peers).toBe(1);
        expect(s.remoteHits + s.remoteFills).toBe(2);
      } finally {
        await reader.close();
      }
      const stats = strata('stats', mnt, '--count', '1');
      expect(stats.code, stats.err).toBe(0);
      expect(stats.out).toMatch(/remotecache\.peers=0 remote_hits=0/);
    } finally {
      expect(await mount.stop()).toBe(0);
    }
  }, 60_000);
});
