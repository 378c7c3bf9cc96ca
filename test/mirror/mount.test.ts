// A mirror through FUSE, as `strata mount MIRROR MNT --mirror-writes --replicate` serves it: what
// programs write through the mount lands on the primary and reads back at once through the same
// mount; without --mirror-writes the mount is read-only (EROFS) and still follows the primary.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { Volume } from '../../src/index.js';
import { createMirrorVolume } from '../../src/sdk/mirror.js';
import { need } from '../helpers/require.js';
import { mountAgain } from '../fuse/mounted.js';

const fuse = need('FUSE', fuseUnavailable());
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'strata-mirror-mount-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('did not happen within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(fuse.skip)('a mirror mounted with FUSE', () => {
  it('writes through the primary and reads them back at once; without mirror writes it is read-only and follows', async () => {
    fuse.check();
    const primary = `sqlite3://${join(dir, 'primary.db')}`;
    await Volume.format(primary, { name: 'vol', storage: `file://${join(dir, 'primary-data')}`, trashDays: 0 });
    const mirror = `sqlite3://${join(dir, 'mirror.db')}`;
    await createMirrorVolume(primary, mirror, { storage: `file://${join(dir, 'mirror-data')}` });

    const rw = join(dir, 'rw');
    const writing = await mountAgain(mirror, rw, ['--mirror-writes', '--replicate', '--primary', primary]);
    try {
      const data = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
      await fs.mkdir(join(rw, 'ckpt'));
      await fs.writeFile(join(rw, 'ckpt', 'step-1'), data);
      await fs.rename(join(rw, 'ckpt', 'step-1'), join(rw, 'ckpt', 'final'));
      await fs.chmod(join(rw, 'ckpt', 'final'), 0o600);
      expect((await fs.readFile(join(rw, 'ckpt', 'final'))).equals(data)).toBe(true);
      expect((await fs.stat(join(rw, 'ckpt', 'final'))).mode & 0o777).toBe(0o600);
      const p = await Volume.open(primary);
      expect((await p.readFile('/ckpt/final')).equals(data)).toBe(true);
      await p.writeFile('/from-primary', 'hello');
      await p.close();

      const ro = join(dir, 'ro');
      const reading = await mountAgain(mirror, ro, ['--attr-cache', '0', '--entry-cache', '0', '--dir-entry-cache', '0']);
      try {
        const refused = await fs.writeFile(join(ro, 'nope'), 'x').then(() => null, (e: unknown) => e as Error);
        expect(refused, String(refused) + reading.log()).toMatchObject({ code: 'EROFS' });
        expect(await until(() => fs.readFile(join(ro, 'from-primary'), 'utf8').catch(() => undefined))).toBe('hello');
      } finally {
        expect(await reading.stop()).toBe(0);
      }
    } finally {
      expect(await writing.stop()).toBe(0);
    }
  }, 120_000);
});
