// Volumes compared across engines: a dump as lines (without its time), and a workload through
// the SDK that exercises what replication must carry exactly.
import { parseMetaUrl } from '../../src/config/urls.js';
import type { Volume } from '../../src/index.js';
import { ROOT_INODE } from '../../src/meta/index.js';
import { dumpVolume } from '../../src/meta/sql/dump.js';
import { openDriver } from '../../src/meta/sql/open.js';
import { RENAME_EXCHANGE } from '../../src/vfs/constants.js';

/** The dump as lines, without the header's time. */
export async function dumpLines(url: string): Promise<string[]> {
  const { driver: db } = await openDriver(parseMetaUrl(url));
  const lines: string[] = [];
  try {
    await dumpVolume(db, async (l) => { lines.push(l); });
  } finally {
    await db.close();
  }
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  delete header.dumpedMs;
  return [JSON.stringify(header), ...lines.slice(1)];
}

/** A workload through the SDK: files of several sizes, appends, renames within and across
 * directories, an exchange, hard links, symlinks, xattrs, truncation, deletion into the trash. */
export async function workload(vol: Volume, seed: number, steps: number): Promise<void> {
  let s = seed >>> 0;
  const rand = (k: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
  const root = { uid: 0, gid: 0, gids: [] };
  await vol.mkdir('/w/a', { recursive: true });
  await vol.mkdir('/w/b', { recursive: true });
  const names = ['x', 'y', 'z', 'q'];
  const path = () => `/w/${['a', 'b'][rand(2)]}/${names[rand(names.length)]}`;
  for (let i = 0; i < steps; i++) {
    const p = path();
    const q = path();
    await (async () => {
      switch (rand(10)) {
        case 0: await vol.writeFile(p, Buffer.alloc(1 + rand(200_000), i % 251)); break;
        case 1: await vol.appendFile(p, Buffer.alloc(1 + rand(5000), i % 7)); break;
        case 2: await vol.rename(p, q); break;
        case 3: await vol.link(p, q); break;
        case 4: await vol.unlink(p); break;
        case 5: await vol.truncate(p, rand(100_000)); break;
        case 6: await vol.setxattr(p, 'user.k', Buffer.from(`v${i}`)); break;
        case 7: await vol.symlink('../target', p); break;
        case 8: {
          const a = await vol.vfs.lookupPath(ROOT_INODE, p.split('/').filter(Boolean).slice(0, -1));
          const b = await vol.vfs.lookupPath(ROOT_INODE, q.split('/').filter(Boolean).slice(0, -1));
          await vol.vfs.rename(root, a.at(-1)!.ino, p.split('/').at(-1)!, b.at(-1)!.ino, q.split('/').at(-1)!, RENAME_EXCHANGE);
          break;
        }
        default: await vol.rename(p, `${p.slice(0, p.lastIndexOf('/'))}/${names[rand(names.length)]}`);
      }
    })().catch(() => undefined);
  }
}

