// The kernel asks for security.capability before every write. The native core answers "absent"
// itself for a file it saw created, and once JS has said so, for as long as the kernel trusts attributes (--attr-cache): so the
// answer must follow a local setxattr at once, another client's within that time, and never
// apply to user.* names (whose answer depends on who asks).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import type { StatsSnapshot } from '../../src/fuse/stats.js';
import { Volume } from '../../src/index.js';
import { need } from '../helpers/require.js';
import { mountForSuite } from './mounted.js';

const run = promisify(execFile);
const fuse = need('FUSE', fuseUnavailable());

/** The xattr through the mount, as a program sees it: its value, or the errno name. */
async function getxattr(path: string, name: string): Promise<string> {
  const { stdout } = await run('python3', ['-c', `
import os, sys, errno
try:
    print(os.getxattr(sys.argv[1], sys.argv[2]).decode())
except OSError as e:
    print(errno.errorcode[e.errno])
`, path, name]);
  return stdout.trim();
}

async function stats(mnt: string): Promise<StatsSnapshot> {
  return JSON.parse(await fs.readFile(join(mnt, '.stats'), 'utf8')) as StatsSnapshot;
}

describe.skipIf(fuse.skip)('absent xattrs answered by the native core', () => {
  const mount = mountForSuite(fuse);

  it('writes to a new file never ask JS; a local setxattr shows at once; another client\'s within the attribute timeout', async () => {
    const m = mount();
    const file = join(m.mountpoint, 'w');
    const before = await stats(m.mountpoint);
    const fh = await fs.open(file, 'w');
    for (let i = 0; i < 20; i++) await fh.write(Buffer.alloc(4096, i));
    await fh.close();
    const after = await stats(m.mountpoint);
    expect(after.native!.absentXattrHits - before.native!.absentXattrHits).toBeGreaterThanOrEqual(19);
    expect((after.ops.getxattr?.count ?? 0) - (before.ops.getxattr?.count ?? 0)).toBe(0);
    expect(await getxattr(file, 'security.capability')).toBe('ENODATA');

    // (security.capability itself only takes a capability set: another security.* name stands in.)
    expect(await getxattr(file, 'security.local')).toBe('ENODATA');
    expect(await getxattr(file, 'security.local')).toBe('ENODATA');
    await run('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "security.local", b"local")', file]);
    expect(await getxattr(file, 'security.local')).toBe('local');

    expect(await getxattr(file, 'security.other')).toBe('ENODATA');
    const sdk = await Volume.open(m.metaUrl, { cacheDir: null });
    try {
      await sdk.setxattr('/w', 'security.other', Buffer.from('remote'));
      const deadline = Date.now() + 10_000;
      let seen = await getxattr(file, 'security.other');
      while (seen !== 'remote' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await getxattr(file, 'security.other');
      }
      expect(seen).toBe('remote');

      // user.* answers depend on the caller: never answered natively, so they show at once.
      expect(await getxattr(file, 'user.note')).toBe('ENODATA');
      await sdk.setxattr('/w', 'user.note', Buffer.from('hi'));
      expect(await getxattr(file, 'user.note')).toBe('hi');

      // An existing file opened with O_CREAT is not new: what it holds is asked for.
      await sdk.writeFile('/capable', 'x');
      await sdk.setxattr('/capable', 'security.local', Buffer.from('kept'));
      const again = await fs.open(join(m.mountpoint, 'capable'), 'a');
      await again.close();
      expect(await getxattr(join(m.mountpoint, 'capable'), 'security.local')).toBe('kept');
    } finally {
      await sdk.close();
    }
  }, 60_000);
});
