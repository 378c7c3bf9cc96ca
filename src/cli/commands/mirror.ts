// strata mirror create|run|status|resync: a read-mostly copy of a volume in another region, kept
// up to date by a replicator that tails the primary's change log (src/mirror/).
import type { Command } from 'commander';
import { redactUrl } from '../../config/urls.js';
import { forgetMirror, resyncMirror, type SnapshotResult } from '../../mirror/create.js';
import { PRIMARY_ENV } from '../../mirror/primary.js';
import { Replicator } from '../../mirror/replicator.js';
import { mirrorStatus } from '../../mirror/status.js';
import { createMirrorVolume } from '../../sdk/mirror.js';
import { printFields } from '../output.js';
import { newProgress, type Progress } from '../progress.js';
import { storageUrl } from './format.js';

const primaryFlag = ['--primary <meta-url>', `the primary's metadata URL with its password (default: ${PRIMARY_ENV}, else the URL the mirror keeps, which has none)`] as const;

function snapshotProgress(): { bar: () => Progress; total(n: number): void; progress(n: number): void } {
  let bar: Progress = newProgress('copying rows', 0);
  return { bar: () => bar, total: (n) => { bar = newProgress('copying rows', n); }, progress: (n) => bar.update(n) };
}

function snapshotSummary(verb: string, mirrorUrl: string, r: SnapshotResult): string {
  const rows = Object.values(r.rows).reduce((a, b) => a + b, 0);
  return `${verb} mirror of volume "${r.volume}" at ${redactUrl(mirrorUrl)}: ${rows} rows from the primary's snapshot at version ${r.version}\n`
    + `  primary: ${r.mirror.primary}\n`
    + `  blocks: ${r.mirror.storage ? `copied into ${r.mirror.storage} by "strata mirror run"; until then read from the primary's store` : 'read from the primary\'s store'}\n`;
}

export function registerMirror(program: Command): void {
  const mirror = program.command('mirror').description('copies of a volume in other regions: create one, keep it up to date, see how far behind it is');
  mirror
    .command('create')
    .description('make an empty metadata database (of any kind) a mirror of the volume at PRIMARY_META, from one snapshot; no block is copied before it serves reads')
    .argument('<primary-meta>', "the primary's metadata URL, e.g. postgres://user:pass@host/db")
    .argument('<mirror-meta>', "the mirror's metadata URL (an empty database), e.g. sqlite3:///var/lib/strata/mirror.db")
    .option('--storage <kind>', "the mirror's own object storage kind: file or s3 (default: from --bucket)")
    .option('--bucket <dir-or-url>', "the mirror's own data directory or bucket URL (default: none, blocks are read from the primary's store)")
    .option('--primary-bucket <url>', "the primary's bucket as this region reaches it, when not at the URL the primary's settings name (another endpoint of the same bucket)")
    .option('--access-key <key>', "S3 access key of the mirror's bucket")
    .option('--secret-key <secret>', 'S3 secret key, stored with the access key')
    .option('--encrypt-keys', 'store the S3 keys encrypted under the key in STRATA_KEY or --key-file')
    .option('--key-file <file>', 'file holding the key for --encrypt-keys')
    .action(async (primary: string, mirrorUrl: string, flags: { storage?: string; bucket?: string; primaryBucket?: string; accessKey?: string; secretKey?: string; encryptKeys?: boolean; keyFile?: string }) => {
      const storage = flags.bucket === undefined && flags.storage === undefined ? undefined : storageUrl(flags);
      const p = snapshotProgress();
      try {
        const r = await createMirrorVolume(primary, mirrorUrl, { storage, accessKey: flags.accessKey, secretKey: flags.secretKey, encryptKeys: flags.encryptKeys, keyFile: flags.keyFile, primaryStorage: flags.primaryBucket, total: p.total, progress: p.progress });
        p.bar().stop();
        process.stdout.write(snapshotSummary('Created', mirrorUrl, r));
      } finally {
        p.bar().stop();
      }
    });
  mirror
    .command('run')
    .description('keep a mirror up to date: apply the primary\'s changes in order and copy new blocks, until stopped (Ctrl-C / SIGTERM)')
    .argument('<mirror-meta>', "the mirror's metadata URL")
    .option(...primaryFlag)
    .option('--key-file <file>', 'file holding the key of sealed storage credentials (instead of STRATA_KEY)')
    .action(async (mirrorUrl: string, flags: { primary?: string; keyFile?: string }) => {
      const r = await Replicator.open(mirrorUrl, { primary: flags.primary, keyFile: flags.keyFile });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.stderr.write(`strata mirror: replicating "${r.volume}" from ${r.primaryUrl}, at version ${r.applied}\n`);
      let said = 0;
      try {
        const summary = await r.run(stop.signal, (rep) => {
          // A line every 10 s while it works: long work shows progress.
          if (Date.now() - said < 10_000) return;
          said = Date.now();
          process.stderr.write(`strata mirror: at version ${rep.applied}, blocks copied up to version ${rep.copiedVersion}\n`);
        });
        process.stdout.write(`Stopped at version ${summary.version}: ${summary.applied} versions applied and ${summary.copied} blocks copied in this run.\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await r.close();
      }
    });
  mirror
    .command('status')
    .description("a mirror's applied version, its lag behind the primary (versions and seconds), the blocks still to copy, and whether the primary answers")
    .argument('<mirror-meta>', "the mirror's metadata URL")
    .option(...primaryFlag)
    .option('--json', 'print JSON')
    .action(async (mirrorUrl: string, flags: { primary?: string; json?: boolean }) => {
      const s = await mirrorStatus(mirrorUrl, { primary: flags.primary });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      printFields(`Mirror of volume "${s.volume}"`, [
        ['primary', `${s.primary} (${s.primaryReachable ? 'reachable' : `unreachable: ${s.primaryError}`})`],
        ['applied version', s.applied],
        ...(s.primaryVersion !== undefined ? [['primary version', s.primaryVersion] as [string, number]] : []),
        ...(s.lagVersions !== undefined ? [['lag', `${s.lagVersions} versions, ${s.lagSeconds!.toFixed(1)} s`] as [string, string]] : []),
        ['own store', s.ownStorage ?? 'none (blocks are read from the primary\'s store)'],
        ['blocks to copy', s.pendingBlocks],
        ['backfill', s.ownStorage === null ? 'none (no own store)' : s.backfillSlices === 0 ? 'done' : `${s.backfillSlices} slices the mirror was made with still to check`],
        ['name on the primary', s.id],
        ...(s.resyncNeeded ? [['resync needed', `the primary's log no longer holds version ${s.applied + 1}: run "strata mirror resync ${redactUrl(mirrorUrl)}"`] as [string, string]] : []),
      ]);
    });
  mirror
    .command('forget')
    .description("stop a mirror that is gone from holding the primary's change log and released blocks back (its name is in \"strata mirror status\")")
    .argument('<primary-meta>', "the primary's metadata URL")
    .argument('<name>', 'the mirror\'s name on the primary, e.g. mirror-0b4c...')
    .action(async (primary: string, name: string) => {
      await forgetMirror(primary, name);
      process.stdout.write(`The primary no longer keeps its log for ${name}.\n`);
    });
  mirror
    .command('resync')
    .description("load the primary's volume into a mirror again (after its position was pruned from the primary's log); the mirror keeps its store and name")
    .argument('<mirror-meta>', "the mirror's metadata URL")
    .option(...primaryFlag)
    .action(async (mirrorUrl: string, flags: { primary?: string }) => {
      const p = snapshotProgress();
      try {
        const r = await resyncMirror(mirrorUrl, { primary: flags.primary, total: p.total, progress: p.progress });
        p.bar().stop();
        process.stdout.write(snapshotSummary('Resynced', mirrorUrl, r));
      } finally {
        p.bar().stop();
      }
    });
}
