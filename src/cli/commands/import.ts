// strata import META_URL SRC_URL [DST_PATH]: the objects of a bucket, a prefix of one, or a local
// directory become files of the volume (key prefixes become directories): linked (the files are
// the objects; the default, for sources inside the volume's storage location) or copied.
// --update re-imports what changed since, --force-update everything; the volume's own blocks are
// skipped.
import type { Command } from 'commander';
import { importObjects, linkPrefixOf, ownBlocksPrefix, type ImportReport } from '../../admin/import.js';
import { parseStorageUrl, redactUrl } from '../../config/urls.js';
import { openObjectStore } from '../../object/open.js';
import { loadSealingKey, readStoredCredentials } from '../../object/s3-credentials.js';
import { errnoError } from '../../errors/errno.js';
import { openBackends } from '../../sdk/backends.js';
import { Volume } from '../../sdk/volume.js';
import { humanSize } from '../output.js';
import { interruptible } from '../interrupt.js';
import { newCountProgress } from '../progress.js';
import { wholeNumber } from '../parse.js';

interface ImportFlags {
  update?: boolean;
  forceUpdate?: boolean;
  include: string[];
  exclude: string[];
  threads: number;
  dryRun?: boolean;
  mode: string;
  accessKey?: string;
  secretKey?: string;
  json?: boolean;
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

const collect = (value: string, previous: string[]) => [...previous, value];

function summary(r: ImportReport): string {
  const verb = r.dryRun ? 'would import' : 'imported';
  const lines = [
    `Listed ${r.objects} objects: ${verb} ${r.imported} new and ${r.updated} changed (${humanSize(r.bytes)}), ${r.unchanged} already imported and unchanged.`,
    `Skipped: ${r.skippedOwn} Strata block objects (the volume's own data), ${r.excluded} left out by --include/--exclude, ${r.existing} whose path holds a file not made by import (--force-update replaces them).`,
  ];
  if (!r.dryRun) lines.push(`Made ${r.directories} directories.`);
  for (const f of r.failures.slice(0, 20)) lines.push(`  failed: ${f.key}: ${f.error}`);
  if (r.failures.length > 0) lines.push(`${r.failures.length} objects could not be imported; run again to retry them.`);
  if (r.dryRun) lines.push('Dry run: nothing was changed.');
  if (r.interrupted) lines.push('Interrupted: every file made is whole. Run again to finish.');
  return lines.join('\n');
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('make the objects of a bucket, a prefix of one, or a local directory files of the volume (key prefixes become directories); the volume\'s own blocks are skipped')
    .argument('<meta-url>', 'metadata URL of the volume')
    .argument('<src-url>', 'where the objects are: s3://bucket/prefix, https://endpoint/bucket/prefix, or file:///dir')
    .argument('[dst-path]', 'directory of the volume to import into (made if missing)', '/')
    .option('--update', 're-import objects whose size or modification time changed since they were imported')
    .option('--force-update', 're-import every object, replacing what is at its path')
    .option('--include <glob>', 'import only keys matching this pattern (repeatable; * does not cross /, ** does)', collect, [])
    .option('--exclude <glob>', 'leave out keys matching this pattern (repeatable)', collect, [])
    .option('--threads <n>', 'objects imported at once', wholeNumber('--threads', 256), 10)
    .option('--dry-run', 'report what would be imported, change nothing')
    .option('--mode <mode>', 'link: files are the objects themselves (nothing is copied; the source must be inside the volume\'s storage location); copy: store the bytes as the volume\'s own blocks', 'link')
    .option('--access-key <key>', 'S3 access key for the source (default: the URL, AWS_* variables, or the volume\'s own when the source is its bucket)')
    .option('--secret-key <key>', 'S3 secret key for the source (AWS_SECRET_ACCESS_KEY keeps it out of the process list)')
    .option('--json', 'print the report as JSON')
    .action(async (metaUrl: string, srcUrl: string, dstPath: string, flags: ImportFlags) => {
      if (flags.update && flags.forceUpdate) throw usage('--update and --force-update exclude each other: --force-update already re-imports everything');
      if (flags.mode !== 'copy' && flags.mode !== 'link') throw usage(`--mode must be link or copy, got "${flags.mode}"`);
      if (flags.threads < 1) throw usage('--threads must be at least 1');
      if ((flags.accessKey === undefined) !== (flags.secretKey === undefined)) throw usage('--access-key and --secret-key go together (or leave both out: the URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the volume\'s own for its bucket)');
      if (!dstPath.startsWith('/')) throw usage(`the destination is a path inside the volume and starts with "/", got "${dstPath}"`);
      const src = parseStorageUrl(srcUrl);
      const dst = `/${dstPath.split('/').filter(Boolean).join('/')}`;
      // The volume's settings: its storage (whose own blocks are skipped) and, for a source in
      // the same bucket, its credentials.
      const backends = await openBackends(metaUrl, {});
      let ownPrefix: string | null;
      let linkPrefix: string | undefined;
      let storedKeys: { accessKey?: string; secretKey?: string } = {};
      try {
        const settings = await backends.meta.settings();
        if (settings.mirror) throw errnoError('EROFS', 'import', undefined, `${redactUrl(metaUrl)} is a mirror of ${settings.mirror.primary}: import into the primary`);
        const storage = parseStorageUrl(settings.storage);
        ownPrefix = ownBlocksPrefix(src, storage, settings.name);
        if (flags.mode === 'link') {
          const prefix = linkPrefixOf(src, storage);
          if (prefix === null) throw usage(`--mode link makes files of objects the volume reads through its own store, so the source must be inside ${settings.storage}; for ${redactUrl(srcUrl)} use --mode copy`);
          linkPrefix = prefix;
        }
        if (src.kind === 's3' && storage.kind === 's3' && src.bucket === storage.bucket && src.endpoint === storage.endpoint) storedKeys = settings.storageCredentials === undefined ? {} : readStoredCredentials(settings.storageCredentials, settings.name, () => loadSealingKey());
      } finally {
        await backends.close();
      }
      const source = await openObjectStore(srcUrl, { ...storedKeys, ...(flags.accessKey ? { accessKey: flags.accessKey, secretKey: flags.secretKey } : {}) });
      const vol = await Volume.open(metaUrl, { client: 'cli-import', uid: 0, gid: 0, gids: [] });
      const interrupt = interruptible();
      const bar = newCountProgress('import: objects', 'objects');
      let report: ImportReport;
      try {
        report = await importObjects(vol, source, {
          dst, linkPrefix, update: flags.update, forceUpdate: flags.forceUpdate, include: flags.include, exclude: flags.exclude, ownPrefix,
          threads: flags.threads, dryRun: flags.dryRun, progress: (n) => bar.update(n), stopped: interrupt.stopped,
        });
      } finally {
        bar.stop();
        interrupt.dispose();
        await vol.close();
        await source.close();
      }
      process.stdout.write(flags.json ? `${JSON.stringify({ source: source.describe(), dst, ...report }, null, 2)}\n` : `${summary(report)}\n`);
      if (report.interrupted) process.exitCode = 130;
      else if (report.failures.length > 0) process.exitCode = 1;
    });
}
