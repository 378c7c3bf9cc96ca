// strata gc META_URL: find objects of the volume's store that no metadata references (blocks
// left by a client that died between upload and commit), slice deletions no client finished and
// trash entries past their time; with --delete, remove them. Reports only, by default.
import type { Command } from 'commander';
import { collectGarbage, DEFAULT_GC_MIN_AGE_MS, type GcReport } from '../../admin/gc.js';
import { redactUrl } from '../../config/urls.js';
import { errnoError } from '../../errors/errno.js';
import { openBackends } from '../../sdk/backends.js';
import { humanSize } from '../output.js';
import { interruptible } from '../interrupt.js';
import { newCountProgress } from '../progress.js';
import { duration, wholeNumber } from '../parse.js';

interface GcFlags {
  delete?: boolean;
  minAge: number;
  threads: number;
  json?: boolean;
}

function summary(r: GcReport, deleting: boolean, minAgeMs: number): string {
  const lines = [
    `Scanned ${r.scannedObjects} objects (${humanSize(r.scannedBytes)}): ${r.knownBlocks} blocks of known slices.`,
    `Leaked: ${r.leakedObjects} blocks (${humanSize(r.leakedBytes)}) no slice references, older than ${Math.round(minAgeMs / 1000)} s${deleting ? `; deleted ${r.deletedObjects}${r.failedObjects ? `, ${r.failedObjects} still there (queued for the next run)` : ''}` : ''}.`,
    `Left alone: ${r.youngObjects} unreferenced blocks younger than that (uploads perhaps in flight), ${r.foreignObjects} objects that are not Strata blocks.`,
    `Pending deletions no client finished: ${r.stalePendingSlices} slices; expired trash entries: ${r.expiredTrash}.`,
  ];
  if (deleting) lines.push(`Removed ${r.removedTrash} trash entries; deleted the blocks of ${r.reclaimedSlices} freed slices.`);
  else if (r.leakedObjects + r.stalePendingSlices + r.expiredTrash > 0) lines.push('Nothing was changed: run again with --delete to remove them.');
  if (r.examples.length > 0) lines.push(`Leaked, for example: ${r.examples.slice(0, 3).join(', ')}`);
  if (r.interrupted) lines.push('Interrupted: the listing stopped early; what was deleted is gone, nothing is half-done. Run again to finish.');
  return lines.join('\n');
}

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('find blocks no metadata references (left by crashed writers), unfinished deletions and expired trash; --delete removes them')
    .argument('<meta-url>', 'metadata URL of the volume')
    .option('--delete', 'delete what is found (without it, only report)')
    .option('--min-age <duration>', 'leave unreferenced blocks younger than this alone (default 1d; clients commit what they wrote within 10 minutes, even to files kept open)', duration('--min-age'), DEFAULT_GC_MIN_AGE_MS)
    .option('--threads <n>', 'deletions at once', wholeNumber('--threads', 256), 10)
    .option('--json', 'print the report as JSON')
    .action(async (metaUrl: string, flags: GcFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
      const backends = await openBackends(metaUrl, {});
      try {
        const settings = await backends.meta.settings();
        if (settings.mirror) throw errnoError('EINVAL', 'gc', undefined, `${redactUrl(metaUrl)} is a mirror of ${settings.mirror.primary}: its store is filled by replication; run gc on the primary`);
        const interrupt = interruptible();
        const bar = newCountProgress('gc: listing', 'objects');
        let report: GcReport;
        try {
          report = await collectGarbage(backends.meta, backends.objects, backends.store, {
            delete: flags.delete === true, minAgeMs: flags.minAge, threads: flags.threads, trashDays: settings.trashDays,
            progress: (n) => bar.update(n), stopped: interrupt.stopped,
          });
        } finally {
          bar.stop();
          interrupt.dispose();
        }
        process.stdout.write(flags.json ? `${JSON.stringify({ volume: settings.name, delete: flags.delete === true, minAgeMs: flags.minAge, ...report }, null, 2)}\n` : `${summary(report, flags.delete === true, flags.minAge)}\n`);
        if (report.interrupted) process.exitCode = 130;
      } finally {
        await backends.close();
      }
    });
}
