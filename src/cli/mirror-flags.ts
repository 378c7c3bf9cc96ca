// The flags of commands that serve a volume (mount, gateway) when that volume is a mirror:
// writing through the primary, and running the mirror's replicator in the same process.
import { InvalidArgumentError, type Command } from 'commander';
import { Replicator } from '../mirror/replicator.js';
import type { VolumeOptions } from '../sdk/volume.js';

export interface MirrorFlags {
  mirrorWrites?: boolean;
  primary?: string;
  mirrorWait?: number;
  replicate?: boolean;
}

function waitSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n >= 0.1 && n <= 3600)) throw new InvalidArgumentError(`--mirror-wait takes seconds from 0.1 to 3600, got "${value}".`);
  return n;
}

export function addMirrorFlags(cmd: Command): Command {
  return cmd
    .option('--mirror-writes', 'on a mirror: make changes on the primary, each returning once this mirror shows it (without it a mirror is read-only)')
    .option('--primary <meta-url>', "on a mirror: the primary's metadata URL with its password (default: $STRATA_PRIMARY_META, else the URL the mirror keeps, which has none)")
    .option('--mirror-wait <s>', 'on a mirror with --mirror-writes: seconds a change may take to show here before the call fails (default 10)', waitSeconds)
    .option('--replicate', "on a mirror: also run its replicator in this process (as \"strata mirror run\" does)");
}

export function mirrorOptions(f: MirrorFlags): Pick<VolumeOptions, 'mirrorWrites' | 'primary' | 'mirrorWaitMs'> {
  return { mirrorWrites: f.mirrorWrites, primary: f.primary, mirrorWaitMs: f.mirrorWait === undefined ? undefined : f.mirrorWait * 1000 };
}

/** With --replicate: the replicator running in the background, and how to stop it. */
export async function replicateIfAsked(metaUrl: string, f: MirrorFlags & { keyFile?: string }, log: (line: string) => void): Promise<() => Promise<void>> {
  if (!f.replicate) return async () => undefined;
  const r = await Replicator.open(metaUrl, { primary: f.primary, keyFile: f.keyFile, log });
  const stop = new AbortController();
  const running = r.run(stop.signal).catch((err: unknown) => log(`strata mirror: the replicator stopped: ${(err as Error).message}`));
  log(`replicating from ${r.primaryUrl}, at version ${r.applied}`);
  return async () => {
    stop.abort();
    await running;
    await r.close();
  };
}
