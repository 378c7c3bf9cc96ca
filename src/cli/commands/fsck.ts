// strata fsck META_URL [PATH]: check that every block the files reference is in the store with the
// right size (--check-checksums: and the right bytes) and that link counts agree with the names.
// Exit status 1 when anything is wrong, with each problem named by its file's path.
import type { Command } from 'commander';
import { checkVolume, type FsckReport } from '../../admin/fsck.js';
import { openBackends } from '../../sdk/backends.js';
import { humanSize } from '../output.js';
import { interruptible } from '../interrupt.js';
import { newLateProgress } from '../progress.js';
import { volumePath } from '../volume-path.js';
import { wholeNumber } from '../parse.js';

interface FsckFlags {
  checkChecksums?: boolean;
  repair?: boolean;
  threads: number;
  json?: boolean;
}

const BLOCK_KINDS = new Set(['missing-block', 'wrong-size', 'bad-checksum', 'missing-object', 'changed-object']);

function summary(r: FsckReport, checksums: boolean): string {
  const lines = [`Checked ${r.files} files in ${r.directories} directories: ${r.blocks} blocks (${humanSize(r.bytes)})${checksums ? ', every checksum read and verified' : ', existence and size'}.`];
  for (const p of r.problems) lines.push(`  ${p.kind.padEnd(14)} ${p.path}${p.ino > 0 && !p.path.startsWith('(') ? ` (inode ${p.ino})` : ''}: ${p.detail}${p.repaired ? ' [repaired]' : ''}`);
  const damaged = [...new Set(r.problems.filter((p) => BLOCK_KINDS.has(p.kind)).map((p) => p.path))];
  if (damaged.length > 0) lines.push(`Files with missing or damaged data (${damaged.length}): ${damaged.slice(0, 20).join(', ')}${damaged.length > 20 ? ', ...' : ''}`);
  if (!r.fileLinksChecked) lines.push('Link counts of files were not checked: only a check from / sees every name.');
  const repaired = r.problems.filter((p) => p.repaired).length;
  lines.push(r.problems.length === 0 ? 'No problems found.' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found${repaired > 0 ? `, ${repaired} repaired` : ''}.`);
  if (damaged.length > 0 && repaired > 0) lines.push('Missing or damaged data is not repaired: restore those files from elsewhere, or remove them.');
  if (r.interrupted) lines.push('Interrupted: not everything was checked. Nothing was changed.');
  return lines.join('\n');
}

export function registerFsck(program: Command): void {
  program
    .command('fsck')
    .description('check that every block files reference is in the store (with the right size; --check-checksums: the right bytes), that link counts agree with the names, and (from /) the volume counters and orphaned inodes; --repair fixes counts, counters and orphans; exit 1 on problems left')
    .argument('<meta-url>', 'metadata URL of the volume')
    .argument('[path]', 'check only this directory or file of the volume', '/')
    .option('--check-checksums', 'read every block and verify its checksum (reads all the data)')
    .option('--repair', 'fix link counts, the used-space and inode counters, and orphaned inodes (whole volume only); files with missing data are listed, not changed')
    .option('--threads <n>', 'files checked at once', wholeNumber('--threads', 256), 10)
    .option('--json', 'print the report as JSON')
    .action(async (metaUrl: string, path: string, flags: FsckFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
      if (flags.repair && path.split('/').some(Boolean)) throw Object.assign(new Error('--repair checks the whole volume: leave out the path'), { exitCode: 2 });
      const backends = await openBackends(metaUrl, {});
      try {
        const settings = await backends.meta.settings();
        const start = await volumePath(backends.meta, metaUrl, path, 'fsck');
        const interrupt = interruptible();
        const bar = newLateProgress('fsck: files');
        let report: FsckReport;
        try {
          report = await checkVolume(backends.meta, backends.objects, {
            blockSize: settings.blockSize, start, checksums: flags.checkChecksums === true, repair: flags.repair === true, linked: backends.linked,
            threads: flags.threads, stopped: interrupt.stopped, progress: bar.update,
          });
        } finally {
          bar.stop();
          interrupt.dispose();
        }
        process.stdout.write(flags.json ? `${JSON.stringify({ volume: settings.name, path, ...report }, null, 2)}\n` : `${summary(report, flags.checkChecksums === true)}\n`);
        if (report.interrupted) process.exitCode = 130;
        else if (report.problems.some((p) => !p.repaired)) process.exitCode = 1;
      } finally {
        await backends.close();
      }
    });
}
