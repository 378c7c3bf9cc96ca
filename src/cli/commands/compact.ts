// strata compact META_URL [PATH]: rewrite fragmented chunks (several slices, or bytes hidden by
// later writes) as one slice each, online, and delete the objects that frees.
import type { Command } from 'commander';
import { compactTree, type CompactReport } from '../../admin/compact.js';
import { redactUrl } from '../../config/urls.js';
import { errnoError } from '../../errors/errno.js';
import { openBackends } from '../../sdk/backends.js';
import { humanSize } from '../output.js';
import { interruptible } from '../interrupt.js';
import { newLateProgress } from '../progress.js';
import { volumePath } from '../volume-path.js';
import { wholeNumber } from '../parse.js';

interface CompactFlags {
  threads: number;
  json?: boolean;
}

function summary(r: CompactReport): string {
  const lines = [
    `Looked at ${r.files} files, ${r.chunks} chunks: compacted ${r.compactedChunks} (${r.slicesBefore} slices -> ${r.slicesAfter}), writing ${humanSize(r.bytesWritten)}.`,
    `Freed ${r.releasedSlices} slices (${humanSize(r.releasedBytes)}): ${humanSize(Math.max(0, r.reclaimedBytes))} of store reclaimed.`,
    `Deleted ${r.deletedObjects} objects (${humanSize(r.deletedBytes)}) of ${r.deletedSlices} freed slices.`,
  ];
  if (r.changedChunks > 0) lines.push(`${r.changedChunks} chunks changed while they were compacted and were left as they are: run again to compact them.`);
  for (const f of r.failures.slice(0, 20)) lines.push(`  failed: ${f.path}: ${f.error}`);
  if (r.failures.length > 0) lines.push(`${r.failures.length} files could not be compacted (run strata fsck to check their blocks).`);
  if (r.interrupted) lines.push('Interrupted: what was compacted is done, nothing is half-done. Run again to finish.');
  return lines.join('\n');
}

export function registerCompact(program: Command): void {
  program
    .command('compact')
    .description('rewrite fragmented chunks (several slices, or bytes hidden by later writes) as one slice each, while the volume is in use, and delete the objects that frees')
    .argument('<meta-url>', 'metadata URL of the volume')
    .argument('[path]', 'compact only this directory or file of the volume', '/')
    .option('--threads <n>', 'files compacted at once', wholeNumber('--threads', 64), 4)
    .option('--json', 'print the report as JSON')
    .action(async (metaUrl: string, path: string, flags: CompactFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
      const backends = await openBackends(metaUrl, {});
      try {
        const settings = await backends.meta.settings();
        if (settings.mirror) throw errnoError('EROFS', 'compact', undefined, `${redactUrl(metaUrl)} is a mirror of ${settings.mirror.primary}: compact the primary, the mirror follows`);
        const start = await volumePath(backends.meta, metaUrl, path, 'compact');
        const interrupt = interruptible();
        const bar = newLateProgress('compact: files');
        let report: CompactReport;
        try {
          report = await compactTree(backends.meta, backends.store, { start, threads: flags.threads, stopped: interrupt.stopped, progress: bar.update });
        } finally {
          bar.stop();
          interrupt.dispose();
        }
        process.stdout.write(flags.json ? `${JSON.stringify({ volume: settings.name, path, ...report }, null, 2)}\n` : `${summary(report)}\n`);
        if (report.interrupted) process.exitCode = 130;
        else if (report.failures.length > 0) process.exitCode = 1;
      } finally {
        await backends.close();
      }
    });
}
