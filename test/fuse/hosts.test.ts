// Several hosts on one PostgreSQL volume, each a process of its own: two mounts and an SDK client.
// What one closes the others open and read (close-to-open); a flock or an fcntl lock taken through
// one mount holds against the other; and when a mount is killed (SIGKILL) with a lock held and an
// unlinked file open, a surviving client closes its session: the lock goes, the file's data is
// freed, and the metadata stays whole.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMetaUrl } from '../../src/config/urls.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { openMeta } from '../../src/meta/index.js';
import { consistencyProblems } from '../../src/meta/sql/consistency.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { need } from '../helpers/require.js';
import { engineNeed } from '../helpers/engines.js';
import { Agent } from './agent.js';
import { isMounted, mountAgain, mountForSuite, run, useEngine } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const pg = engineNeed('postgres');
const SURVIVOR = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'survivor.mjs');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

useEngine('postgres');

describe.skipIf(fuse.skip || pg.skip)('hosts sharing one PostgreSQL volume', () => {
  const mountA = mountForSuite(fuse, ['--heartbeat', '0.3', '--attr-cache', '0', '--entry-cache', '0']);

  it('close-to-open across two mounts and an SDK process; locks across mounts; a killed mount is cleaned by a survivor', async () => {
    pg.check();
    const a = mountA();
    const mntB = join(a.dir, 'mnt-b');
    const b = await mountAgain(a.metaUrl, mntB, ['--heartbeat', '0.3', '--attr-cache', '0', '--entry-cache', '0']);
    const agents: Agent[] = [];
    try {
      // Close-to-open, both ways, and a third process (the SDK) reading what a mount wrote.
      const one = randomBytes(3 * 1024 * 1024 + 17);
      await fs.writeFile(join(a.mountpoint, 'shared'), one);
      expect(sha(await fs.readFile(join(mntB, 'shared')))).toBe(sha(one));
      const two = randomBytes(100_000);
      await fs.writeFile(join(mntB, 'shared'), two);
      expect(sha(await fs.readFile(join(a.mountpoint, 'shared')))).toBe(sha(two));

      // Locks taken through B hold against A.
      await fs.writeFile(join(a.mountpoint, 'locked'), 'x');
      const onB = await Agent.start();
      const onA = await Agent.start();
      agents.push(onB, onA);
      const fb = await onB.open(join(mntB, 'locked'), 'r+');
      const fa = await onA.open(join(a.mountpoint, 'locked'), 'r+');
      expect(await onB.call({ op: 'flock', fd: fb, how: 'ex' })).toEqual({});
      expect(await onA.call({ op: 'flock', fd: fa, how: 'ex' })).toMatchObject({ err: expect.stringMatching(/EAGAIN|EWOULDBLOCK/) });
      expect(await onB.call({ op: 'lockf', fd: fb, how: 'ex' })).toEqual({});
      expect(await onA.call({ op: 'lockf', fd: fa, how: 'ex' })).toMatchObject({ err: expect.stringMatching(/EAGAIN|EACCES/) });

      // B holds a file open that A then unlinks: its data lives on while B has it.
      const ghost = randomBytes(2 * 1024 * 1024);
      await fs.writeFile(join(a.mountpoint, 'ghost'), ghost);
      const ghostIno = (await fs.stat(join(a.mountpoint, 'ghost'))).ino;
      await onB.open(join(mntB, 'ghost'), 'r');
      await fs.unlink(join(a.mountpoint, 'ghost'));
      const meta = await openMeta(a.metaUrl);
      const bSession = (await meta.sessions()).find((s) => s.info.client === 'fuse' && s.info.mountpoint === mntB)?.id
        ?? (await meta.sessions()).map((s) => s.id).sort((x, y) => y - x)[0]!;
      expect((await meta.getattr(ghostIno)).nlink).toBe(0);
      const ghostSlices = (await meta.chunks(ghostIno)).flatMap((c) => c.slices.map((x) => x.id));
      expect(ghostSlices.length).toBeGreaterThan(0);
      const objectsOf = async (id: number) => (await fs.readdir(join(a.dir, 'objects'), { recursive: true })).filter((f) => String(f).split('/').at(-1)!.startsWith(`${id}_`));
      expect(await objectsOf(ghostSlices[0]!)).not.toEqual([]);

      // B dies without unmounting; a survivor (the SDK process) closes its session.
      b.kill();
      const survivor = spawn(process.execPath, [SURVIVOR, a.metaUrl, '/shared', String(bSession)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      survivor.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      survivor.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      const code = await new Promise((r) => survivor.on('exit', r));
      expect(code, out).toBe(0);
      const [read, cleaned] = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(read).toEqual({ read: two.length, sha: sha(two) });
      expect(cleaned!.cleaned).toBe(String(bSession));

      // B's locks are gone, its unlinked file is freed, nothing is left half-done.
      expect(await onA.call({ op: 'flock', fd: fa, how: 'ex' })).toEqual({});
      expect(await onA.call({ op: 'lockf', fd: fa, how: 'ex' })).toEqual({});
      await expect(meta.getattr(ghostIno)).rejects.toMatchObject({ code: 'ENOENT' });
      // Its objects are deleted by a client's reclaim loop (every 2 s).
      for (let i = 0; i < 100 && (await objectsOf(ghostSlices[0]!)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await objectsOf(ghostSlices[0]!)).toEqual([]);
      await meta.close();
      const { driver } = await openDriver(parseMetaUrl(a.metaUrl));
      expect(await consistencyProblems(driver)).toEqual([]);
      await driver.close();
    } finally {
      for (const ag of agents) await ag.kill().catch(() => undefined);
      await b.stop().catch(() => undefined);
      if (await isMounted(mntB)) await run('fusermount3', ['-u', '-z', mntB]).catch(() => undefined);
    }
  }, 120_000);
});
