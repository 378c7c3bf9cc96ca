// strata rmr: remove a directory tree inside a volume, with progress; files go to the trash
// unless --skip-trash.
import type { Command } from 'commander';
import { Volume } from '../../sdk/volume.js';
import { newProgress } from '../progress.js';

async function countTree(vol: Volume, path: string): Promise<number> {
  const st = await vol.lstat(path);
  if (!st.isDirectory()) return 1;
  let n = 1;
  for (const d of await vol.readdir(path, { withFileTypes: true })) {
    const child = `${path === '/' ? '' : path}/${d.name}`;
    n += d.isDirectory() ? await countTree(vol, child) : 1;
  }
  return n;
}

async function removeTree(vol: Volume, path: string, tick: () => void): Promise<void> {
  const st = await vol.lstat(path);
  if (st.isDirectory()) {
    for (const d of await vol.readdir(path, { withFileTypes: true })) {
      await removeTree(vol, `${path === '/' ? '' : path}/${d.name}`, tick);
    }
    if (path !== '/') await vol.rmdir(path);
  } else {
    await vol.unlink(path);
  }
  tick();
}

export function registerRmr(program: Command): void {
  program
    .command('rmr')
    .description('remove a file or directory tree inside a volume (files go to .trash unless --skip-trash)')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('<path>', 'path inside the volume, e.g. /old-runs')
    .option('--skip-trash', 'free the data at once instead of keeping it in the trash (root only)')
    .action(async (metaUrl: string, path: string, flags: { skipTrash?: boolean }) => {
      if (!path.startsWith('/')) throw Object.assign(new Error(`the path must be absolute inside the volume (start with "/"), got "${path}"`), { exitCode: 2 });
      if (path.replace(/\/+$/, '') === '' ) throw Object.assign(new Error('refusing to remove the root of the volume'), { exitCode: 2 });
      const vol = await Volume.open(metaUrl, { client: 'cli-rmr', skipTrash: flags.skipTrash === true });
      try {
        const total = await countTree(vol, path);
        const bar = newProgress('removing', total);
        let done = 0;
        await removeTree(vol, path, () => bar.update(++done));
        bar.stop();
        process.stdout.write(`Removed ${done} entr${done === 1 ? 'y' : 'ies'} under ${path}${flags.skipTrash ? '' : ' (files kept in .trash; see "strata trash list")'}\n`);
      } finally {
        await vol.close();
      }
    });
}
