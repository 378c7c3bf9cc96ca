// strata format: create a volume, or re-apply format to an existing one and say what changed.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultStorage } from '../../sdk/backends.js';
import { Volume } from '../../sdk/volume.js';
import { formatSize } from '../output.js';
import { blockSize, size, wholeNumber } from '../parse.js';

interface FormatFlags {
  storage: string;
  bucket?: string;
  blockSize?: number;
  trashDays?: number;
  capacity?: number;
  inodes?: number;
  force?: boolean;
}

/** --storage KIND + --bucket WHERE -> one storage URL (undefined: the default / unchanged). */
export function storageUrl(flags: { storage: string; bucket?: string }): string | undefined {
  if (flags.storage !== 'file') {
    throw Object.assign(new Error(`--storage ${flags.storage} is not supported yet; use --storage file (the default)`), { exitCode: 2 });
  }
  const bucket = flags.bucket;
  if (bucket === undefined) return undefined;
  if (bucket.includes('://')) return bucket;
  return `file://${isAbsolute(bucket) ? bucket : resolve(bucket)}`;
}

export function registerFormat(program: Command): void {
  program
    .command('format')
    .description('create a volume (metadata at META_URL, data in a local directory), or change the settings of an existing one')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('<name>', 'volume name: 1-63 letters, digits, ".", "_" or "-"')
    .option('--storage <kind>', 'object storage kind', 'file')
    .option('--bucket <dir-or-url>', 'data directory (or file:// URL); default: "data" next to the SQLite file')
    .option('--block-size <size>', 'block size, a power of two from 64K to 16M (default 4M)', blockSize('--block-size'))
    .option('--trash-days <days>', 'days deleted files stay in .trash; 0 disables the trash (default 1)', wholeNumber('--trash-days', 36_500))
    .option('--capacity <size>', 'volume capacity, e.g. 100G (0 = unlimited)', size('--capacity'))
    .option('--inodes <count>', 'maximum number of files (0 = unlimited)', wholeNumber('--inodes'))
    .option('--force', 'allow changing the storage URL of an existing volume')
    .addHelpText('after', '\nExamples:\n  strata format sqlite3://./meta.db myvol\n  strata format sqlite3:///var/lib/strata/meta.db myvol --bucket /var/lib/strata/data --block-size 1M')
    .action(async (metaUrl: string, name: string, flags: FormatFlags) => {
      const storage = storageUrl(flags);
      const result = await Volume.format(metaUrl, {
        name, storage, blockSize: flags.blockSize, trashDays: flags.trashDays, capacity: flags.capacity,
        inodeLimit: flags.inodes, force: flags.force,
      });
      if (result.created) {
        process.stdout.write(`Formatted volume "${name}" at ${metaUrl}\n  data: ${storage ?? defaultStorage(metaUrl)}\n  block size: ${formatSize(flags.blockSize ?? 4 * 1024 * 1024)}, trash: ${flags.trashDays ?? 1} day(s)\n`);
      } else if (result.changed.length === 0) {
        process.stdout.write(`Volume "${name}" at ${metaUrl} already exists with these settings; nothing changed.\n`);
      } else {
        process.stdout.write(`Volume "${name}" at ${metaUrl} already exists; changed:\n${result.changed.map((c) => `  ${c}\n`).join('')}`);
      }
    });
}
