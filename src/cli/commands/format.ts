// strata format: create a volume, or re-apply format to an existing one and say what changed.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { canonicalStorageUrl } from '../../object/open.js';
import { defaultStorage } from '../../sdk/backends.js';
import { Volume } from '../../sdk/volume.js';
import { formatSize } from '../output.js';
import { blockSize, size, wholeNumber } from '../parse.js';
import { redactUrl } from '../../config/urls.js';

interface FormatFlags {
  storage?: string;
  bucket?: string;
  accessKey?: string;
  secretKey?: string;
  encryptKeys?: boolean;
  keyFile?: string;
  blockSize?: number;
  trashDays?: number;
  capacity?: number;
  inodes?: number;
  force?: boolean;
}

const KINDS = ['file', 's3'] as const;
const S3_EXAMPLE = 'e.g. --bucket s3://mybucket/prefix or --bucket https://s3.example.com:9000/mybucket';

function usage(message: string): never {
  throw Object.assign(new Error(message), { exitCode: 2 });
}

/** The storage kind a URL's scheme names, or undefined for a bare path. */
function kindOf(bucket: string): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(bucket)?.[1]?.toLowerCase();
  if (scheme === undefined) return undefined;
  return scheme === 'file' ? 'file' : ['s3', 'http', 'https'].includes(scheme) ? 's3' : scheme;
}

/** --storage KIND + --bucket WHERE -> one storage URL (undefined: the default / unchanged). */
export function storageUrl(flags: { storage?: string; bucket?: string }): string | undefined {
  const { bucket } = flags;
  const given = bucket === undefined ? undefined : kindOf(bucket);
  const kind = flags.storage ?? given ?? 'file';
  if (!(KINDS as readonly string[]).includes(kind)) usage(`--storage ${kind} is not a storage kind; use --storage file (a local directory, the default) or --storage s3`);
  if (kind === 's3') {
    if (bucket === undefined) usage(`--storage s3 needs --bucket with the bucket's URL, ${S3_EXAMPLE}`);
    if (given !== 's3') usage(`--storage s3 needs --bucket to be an s3://, http:// or https:// URL, ${S3_EXAMPLE}; got "${bucket}"`);
    return bucket;
  }
  if (bucket === undefined) return undefined;
  if (given === 's3') usage(`--bucket ${bucket.replace(/\/\/[^@/]*@/, '//****@')} is S3 storage; add --storage s3 (or leave --storage out)`);
  if (given !== undefined && given !== 'file') usage(`--bucket must be a directory or a file:// URL for --storage file; got "${bucket}"`);
  if (given === 'file') return bucket;
  return `file://${isAbsolute(bucket) ? bucket : resolve(bucket)}`;
}

export function registerFormat(program: Command): void {
  program
    .command('format')
    .description('create a volume (metadata at META_URL, data in a local directory or an S3 bucket), or change the settings of an existing one')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('<name>', 'volume name: 1-63 letters, digits, ".", "_" or "-"')
    .option('--storage <kind>', 'object storage kind: file or s3 (default: from --bucket, else file)')
    .option('--bucket <dir-or-url>', 'data directory (or file:// URL), or for s3 the bucket URL: s3://BUCKET/PREFIX or http(s)://ENDPOINT/BUCKET/PREFIX; default: "data" next to the SQLite file')
    .option('--access-key <key>', 'S3 access key, stored in the volume (default: from the URL, or AWS_ACCESS_KEY_ID when opening)')
    .option('--secret-key <secret>', 'S3 secret key, stored with the access key')
    .option('--encrypt-keys', 'store the S3 keys encrypted (AES-256-GCM) under the key in STRATA_KEY or --key-file; opening the volume then needs that key')
    .option('--key-file <file>', 'file holding the key for --encrypt-keys (instead of STRATA_KEY)')
    .option('--block-size <size>', 'block size, a power of two from 64K to 16M (default 4M)', blockSize('--block-size'))
    .option('--trash-days <days>', 'days deleted files stay in .trash; 0 disables the trash (default 1)', wholeNumber('--trash-days', 36_500))
    .option('--capacity <size>', 'volume capacity, e.g. 100G (0 = unlimited)', size('--capacity'))
    .option('--inodes <count>', 'maximum number of files (0 = unlimited)', wholeNumber('--inodes'))
    .option('--force', 'allow changing the storage URL of an existing volume')
    .addHelpText('after', [
      '',
      'Examples:',
      '  strata format sqlite3://./meta.db myvol',
      '  strata format sqlite3:///var/lib/strata/meta.db myvol --bucket /var/lib/strata/data --block-size 1M',
      '  strata format sqlite3://./meta.db myvol --storage s3 --bucket https://s3.example.com/mybucket --access-key AK --secret-key SK',
      '  STRATA_KEY=... strata format sqlite3://./meta.db myvol --bucket s3://mybucket/vols --access-key AK --secret-key SK --encrypt-keys',
    ].join('\n'))
    .action(async (metaUrl: string, name: string, flags: FormatFlags) => {
      const storage = storageUrl(flags);
      const result = await Volume.format(metaUrl, {
        name, storage, blockSize: flags.blockSize, trashDays: flags.trashDays, capacity: flags.capacity,
        inodeLimit: flags.inodes, force: flags.force,
        accessKey: flags.accessKey, secretKey: flags.secretKey, encryptKeys: flags.encryptKeys, keyFile: flags.keyFile,
      });
      const shown = storage === undefined ? defaultStorage(metaUrl) : canonicalStorageUrl(storage);
      const keys = flags.accessKey !== undefined || /^[a-z0-9+.-]+:\/\/[^/@]+@/i.test(storage ?? '');
      if (result.created) {
        process.stdout.write(`Formatted volume "${name}" at ${redactUrl(metaUrl)}\n  data: ${shown}\n`
          + (keys ? `  credentials: stored${flags.encryptKeys ? ', encrypted' : ''}\n` : '')
          + `  block size: ${formatSize(flags.blockSize ?? 4 * 1024 * 1024)}, trash: ${flags.trashDays ?? 1} day(s)\n`);
      } else if (result.changed.length === 0) {
        process.stdout.write(`Volume "${name}" at ${redactUrl(metaUrl)} already exists with these settings; nothing changed.\n`);
      } else {
        process.stdout.write(`Volume "${name}" at ${redactUrl(metaUrl)} already exists; changed:\n${result.changed.map((c) => `  ${c}\n`).join('')}`);
      }
    });
}
