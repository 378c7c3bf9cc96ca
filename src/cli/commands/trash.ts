// strata trash list|restore|empty: what deletions are still recoverable, and recovering them.
import type { Command } from 'commander';
import { openMeta } from '../../meta/index.js';
import { Volume } from '../../sdk/volume.js';
import { formatSize, formatTime, printRows } from '../output.js';
import { wholeNumber } from '../parse.js';

export function registerTrash(program: Command): void {
  const trash = program.command('trash').description('list, restore or empty the trash of a volume');
  trash
    .command('list')
    .description('list trashed files and directories')
    .argument('<meta-url>', 'metadata URL')
    .option('--json', 'print JSON')
    .action(async (metaUrl: string, flags: { json?: boolean }) => {
      const meta = await openMeta(metaUrl);
      try {
        const entries = await meta.listTrash();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
          return;
        }
        if (entries.length === 0) {
          process.stdout.write('The trash is empty.\n');
          return;
        }
        printRows(['entry', 'deleted', 'size', 'was'], entries.map((e) => [
          e.path, formatTime(e.deletedMs), e.isDir ? 'dir' : formatSize(e.size), `inode ${e.parent} / ${e.name}`,
        ]));
      } finally {
        await meta.close();
      }
    });
  trash
    .command('restore')
    .description('put trashed entries back where they were deleted from')
    .argument('<meta-url>', 'metadata URL')
    .argument('<entry...>', 'entries as "strata trash list" prints them (HOUR/ENTRY)')
    .action(async (metaUrl: string, entries: string[]) => {
      const meta = await openMeta(metaUrl);
      let failed = 0;
      try {
        for (const e of entries) {
          try {
            await meta.restoreTrash(e);
            process.stdout.write(`restored ${e}\n`);
          } catch (err) {
            failed++;
            process.stderr.write(`strata: cannot restore ${e}: ${(err as Error).message}\n`);
          }
        }
      } finally {
        await meta.close();
      }
      if (failed > 0) process.exitCode = 1;
    });
  trash
    .command('empty')
    .description('free trashed entries now (all, or those older than --older-than days)')
    .argument('<meta-url>', 'metadata URL')
    .option('--older-than <days>', 'only entries deleted more than this many days ago', wholeNumber('--older-than'))
    .action(async (metaUrl: string, flags: { olderThan?: number }) => {
      const meta = await openMeta(metaUrl);
      try {
        const n = await meta.emptyTrash((flags.olderThan ?? 0) * 86_400_000);
        const before = (await meta.usage()).pendingSlices;
        // A short client session deletes the freed objects on close (its last reclaim pass).
        const vol = await Volume.open(metaUrl, { client: 'cli-trash' });
        await vol.close();
        const after = (await meta.usage()).pendingSlices;
        process.stdout.write(`Freed ${n} trashed entr${n === 1 ? 'y' : 'ies'}; deleted the objects of ${before - after} slice(s).\n`);
      } finally {
        await meta.close();
      }
    });
}
