// strata mount / strata umount: serve a volume through FUSE until SIGINT/SIGTERM (or umount),
// then unmount and flush everything.
import { execFile, spawn } from 'node:child_process';
import { openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidArgumentError, type Command } from 'commander';
import { mountVolume } from '../../fuse/mount.js';
import { size, wholeNumber } from '../parse.js';
import { DEFAULT_BUSY_POLL_US, MAX_BUSY_POLL_US } from '../../fuse/busy-poll.js';
import { addDataFlags, dataOptions, type DataFlags } from '../data-flags.js';
import { addMirrorFlags, mirrorOptions, replicateIfAsked, type MirrorFlags } from '../mirror-flags.js';
import { addGroupFlags, groupOptions, type GroupFlags } from '../group-flags.js';
import { redactUrl } from '../../config/urls.js';
import { addMetricsFlag, serveMetricsIfAsked, type MetricsFlags } from '../metrics-flag.js';
import { serveMetrics } from '../../metrics/server.js';

const run = promisify(execFile);

function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n > 86400) {
      throw new InvalidArgumentError(`${flag} takes seconds from 0 to 86400, got "${value}".`);
    }
    return n;
  };
}

interface MountFlags extends DataFlags, MirrorFlags, GroupFlags, MetricsFlags {
  background?: boolean;
  log?: string;
  readOnly?: boolean;
  allowOther?: boolean;
  attrCache: number;
  entryCache: number;
  dirEntryCache: number;
  writebackCache?: boolean;
  bufferSize?: number;
  busyPoll: number;
  o: string[];
}

export function registerMount(program: Command): void {
  const mount = program
    .command('mount')
    .description('mount a volume with FUSE; runs until unmounted, SIGINT or SIGTERM (then flushes and unmounts)')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('<mountpoint>', 'an existing empty directory')
    .option('--background', 'detach once mounted (the mount keeps running in a background process)')
    .option('--log <file>', 'write the log here instead of stderr')
    .option('--read-only', 'refuse every change with EROFS')
    .option('--allow-other', 'let users other than the one mounting use the mount')
    .option('--attr-cache <s>', 'seconds the kernel keeps attributes', seconds('--attr-cache'), 1)
    .option('--entry-cache <s>', 'seconds the kernel keeps file names', seconds('--entry-cache'), 1)
    .option('--dir-entry-cache <s>', 'seconds the kernel keeps directory names', seconds('--dir-entry-cache'), 1)
    .option('--writeback-cache', 'let the kernel merge small writes (close-to-open between clients still holds)')
    .option('--buffer-size <MiB>', 'write-buffer memory, MiB', (v: string) => size('--buffer-size')(`${v}M`))
    .option('--busy-poll <us>', `microseconds (0-${MAX_BUSY_POLL_US}) to stay awake for the next request after each one (faster one-at-a-time stat, read, tar; 0: sleep at once)`, wholeNumber('--busy-poll', MAX_BUSY_POLL_US), DEFAULT_BUSY_POLL_US)
    .option('-o <options>', 'extra libfuse mount options, comma-separated', (v: string, prev: string[]) => prev.concat(v.split(',').filter(Boolean)), [] as string[]);
  addMirrorFlags(mount);
  addGroupFlags(mount);
  addMetricsFlag(mount);
  addDataFlags(mount)
    .action(async (metaUrl: string, mountpoint: string, flags: MountFlags) => {
      const cacheGroup = groupOptions(flags);
      if (flags.background) {
        // The detached child binds the metrics address; a taken one must fail here, where its
        // message reaches the user.
        if (flags.metrics) await (await serveMetrics(flags.metrics.host, flags.metrics.port)).close();
        await detach(flags.log);
        return;
      }
      const logFd = flags.log ? openSync(flags.log, 'a') : null;
      const log = (m: string) => {
        const line = `${new Date().toISOString()} ${m}\n`;
        try {
          if (logFd !== null) writeSync(logFd, line);
          else process.stderr.write(line);
        } catch {
          // Logging must never take the mount down.
        }
      };
      const metrics = await serveMetricsIfAsked(flags, log);
      const mounted = await mountVolume(metaUrl, mountpoint, {
        readOnly: flags.readOnly, allowOther: flags.allowOther, writebackCache: flags.writebackCache, bufferSize: flags.bufferSize, busyPollUs: flags.busyPoll,
        timeouts: { attr: flags.attrCache, entry: flags.entryCache, dirEntry: flags.dirEntryCache }, options: flags.o, log, volume: { ...dataOptions(flags), ...mirrorOptions(flags), cacheGroup },
      }).catch(async (err: unknown) => {
        await metrics?.close();
        throw err;
      });
      log(`mounted ${redactUrl(metaUrl)} at ${mountpoint}`);
      const stopReplicating = await replicateIfAsked(metaUrl, flags, log).catch(async (err: unknown) => {
        await mounted.unmount();
        await metrics?.close();
        throw err;
      });
      if (process.send) process.send({ mounted: true });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log(`${signal}: unmounting ${mountpoint}`);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGHUP', () => stop('SIGHUP'));
        void mounted.ended.then((code) => {
          log(`${mountpoint} was unmounted${code === 0 ? '' : ` (${code})`}; closing the volume`);
          resolve();
        });
      });
      await stopReplicating();
      await mounted.unmount();
      await metrics?.close();
      log(`unmounted ${mountpoint}; everything flushed`);
    });

  program
    .command('umount')
    .description('unmount a Strata mount (the serving process flushes and exits)')
    .argument('<mountpoint>', 'where the volume is mounted')
    .option('--force', 'detach even if files are open (lazy unmount)')
    .action(async (mountpoint: string, flags: { force?: boolean }) => {
      const args = flags.force ? ['-u', '-z', mountpoint] : ['-u', mountpoint];
      try {
        await run('fusermount3', args);
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        throw new Error(`cannot unmount ${mountpoint}: ${stderr || (err as Error).message}${flags.force ? '' : ' (files still open? try --force)'}`);
      }
      process.stdout.write(`unmounted ${mountpoint}\n`);
    });
}

/** Re-run this command without --background as a detached child; return once it has mounted. */
async function detach(logFile: string | undefined): Promise<void> {
  const args = process.argv.slice(1).filter((a) => a !== '--background');
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the background mount exited with code ${code} before mounting${logFile ? ` (see ${logFile})` : ' (run without --background to see why)'}`)));
  });
  child.disconnect();
  child.unref();
  process.stdout.write(`mounted in the background (pid ${child.pid})\n`);
}
