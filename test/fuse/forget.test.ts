// The kernel's FORGETs: it sends one for every inode it drops from its caches. The native core
// used to keep them in a table that nothing ever drained, one entry per inode ever forgotten, so
// a long-running mount's memory grew with every file it had ever looked up. Now FORGETs are
// answered and counted in the native core, and it keeps no state per inode.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import type { StatsSnapshot } from '../../src/fuse/stats.js';
import { Volume } from '../../src/index.js';
import { need } from '../helpers/require.js';
import { mountForSuite } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const root = need('root (to make the kernel drop its caches)', process.getuid?.() === 0 ? null : 'not root');
const FILES = 3000;

describe.skipIf(fuse.skip || root.skip)('FORGET', () => {
  const mount = mountForSuite(fuse, ['--attr-cache', '60', '--entry-cache', '60']);

  it('after the kernel forgets thousands of inodes, the native core holds nothing for them', async () => {
    root.check();
    const m = mount();
    // Made through the SDK (fast); looked up through the mount.
    const vol = await Volume.open(m.metaUrl, { cacheDir: null });
    await vol.mkdir('/many');
    for (let i = 0; i < FILES; i++) await vol.writeFile(`/many/f${i}`, '');
    await vol.close();
    for (let i = 0; i < FILES; i++) await fs.stat(join(m.mountpoint, 'many', `f${i}`));
    await fs.writeFile('/proc/sys/vm/drop_caches', '2');
    const snap = JSON.parse(await fs.readFile(join(m.mountpoint, '.stats'), 'utf8')) as StatsSnapshot;
    expect(snap.native, 'the mount reports its native state').toBeDefined();
    expect(snap.native!.lookupsForgotten).toBeGreaterThanOrEqual(FILES);
    // The root and the directory stay known; nothing is kept for the files.
    expect(snap.native!.inodeEntries).toBeLessThanOrEqual(4);
    expect(snap.native!.requestTable).toBeLessThanOrEqual(1);
  }, 120_000);
});
