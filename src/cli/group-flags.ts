// The flags of commands that can join a cache group (mount, gateway, cache-server, warmup).
import { InvalidArgumentError, type Command } from 'commander';
import type { CacheGroupOptions } from '../cachegroup/group.js';
import { splitAddress } from '../cachegroup/group.js';

export interface GroupFlags {
  cacheGroup?: string;
  groupWeight?: number;
  groupBackup?: boolean;
  /** false with --no-sharing. */
  sharing?: boolean;
  groupAddress?: string;
  groupListen?: string;
  groupHandoff?: number;
  groupHeartbeat?: number;
}

function address(flag: string) {
  return (value: string): string => {
    try {
      splitAddress(value, flag);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    return value;
  };
}

function positive(flag: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value.trim()) || !(n > 0 && n <= max)) throw new InvalidArgumentError(`${flag} takes a number above 0 and up to ${max}, got "${value}".`);
    return n;
  };
}

function groupName(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError(`--cache-group takes a name of 1-64 letters, digits, "_" or "-", got "${value}".`);
  return value;
}

/** `listen`: whether the command takes --group-listen (cache-server has --listen instead). */
export function addGroupFlags(cmd: Command, listen = true): Command {
  cmd
    .option('--cache-group <name>', 'join this cache group: blocks are asked of its members before object storage, and this cache serves them', groupName)
    .option('--group-weight <n>', 'share of the group\'s blocks this member keeps, relative to the others (default: cache size in GiB)', positive('--group-weight', 1e6))
    .option('--group-backup', 'keep a second copy of every block on the next member, so losing one member costs no hits')
    .option('--no-sharing', 'take blocks from the group but serve none (a pure client)')
    .option('--group-address <host:port>', 'where the other members reach this one (default: the listen address, or this host\'s name and the port)', address('--group-address'))
    .option('--group-handoff <s>', 'seconds after a member joins during which the owners from before the join are asked too (default 600; 0: never)', (v: string) => {
      const n = Number(v);
      if (!/^\d*\.?\d+$/.test(v.trim()) || !(n >= 0 && n <= 86400)) throw new InvalidArgumentError(`--group-handoff takes seconds from 0 to 86400, got "${v}".`);
      return n;
    });
  cmd.option('--group-heartbeat <s>', 'seconds between this member\'s heartbeats in the group (default 2; a member silent for 5 heartbeats, at least 10 s, is no longer asked)', (v: string) => {
    const n = Number(v);
    if (!/^\d*\.?\d+$/.test(v.trim()) || !(n >= 0.05 && n <= 600)) throw new InvalidArgumentError(`--group-heartbeat takes seconds from 0.05 to 600, got "${v}".`);
    return n;
  });
  if (listen) cmd.option('--group-listen <host:port>', 'where this member serves its cache to the group (default 0.0.0.0 on a free port)', address('--group-listen'));
  return cmd;
}

/** The Volume's cacheGroup option from the flags; undefined without --cache-group. Group flags
 * without a group are a usage error. */
export function groupOptions(f: GroupFlags, listen?: string): CacheGroupOptions | undefined {
  if (f.cacheGroup === undefined) {
    const stray = [f.groupWeight !== undefined && '--group-weight', f.groupBackup && '--group-backup', f.sharing === false && '--no-sharing',
      f.groupAddress !== undefined && '--group-address', f.groupListen !== undefined && '--group-listen', f.groupHandoff !== undefined && '--group-handoff', f.groupHeartbeat !== undefined && '--group-heartbeat'].filter(Boolean);
    if (stray.length > 0) throw Object.assign(new Error(`${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} for a cache group: add --cache-group NAME`), { exitCode: 2 });
    return undefined;
  }
  return {
    name: f.cacheGroup, sharing: f.sharing !== false, weight: f.groupWeight, backup: f.groupBackup === true,
    listen: listen ?? f.groupListen, address: f.groupAddress, handoffMs: f.groupHandoff === undefined ? undefined : f.groupHandoff * 1000,
    heartbeatMs: f.groupHeartbeat === undefined ? undefined : f.groupHeartbeat * 1000,
  };
}
