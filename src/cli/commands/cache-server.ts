// strata cache-server: a cache-group member that serves its disk cache without mounting (a
// cache-cluster node). Runs until SIGINT/SIGTERM, then leaves the group.
import type { Command } from 'commander';
import { redactUrl } from '../../config/urls.js';
import { openBackends } from '../../sdk/backends.js';
import { volumeOptionsToBackends } from '../../sdk/volume.js';
import { addDataFlags, dataOptions, type DataFlags } from '../data-flags.js';
import { addGroupFlags, groupOptions, type GroupFlags } from '../group-flags.js';
import { addMetricsFlag, serveMetricsIfAsked, type MetricsFlags } from '../metrics-flag.js';

interface CacheServerFlags extends DataFlags, GroupFlags, MetricsFlags {
  listen: string;
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

export function registerCacheServer(program: Command): void {
  const cmd = program
    .command('cache-server')
    .description('serve a disk cache to a cache group without mounting (a dedicated cache node); runs until SIGINT or SIGTERM')
    .argument('<meta-url>', 'metadata URL of the volume')
    .requiredOption('--listen <host:port>', 'where to serve the group (port 0: any free one)');
  addGroupFlags(cmd, false);
  addMetricsFlag(cmd);
  addDataFlags(cmd).action(async (metaUrl: string, flags: CacheServerFlags) => {
    if (flags.cacheGroup === undefined) throw usage('cache-server needs --cache-group NAME');
    if (flags.sharing === false) throw usage('a cache server serves its cache: --no-sharing does not go with cache-server');
    if (flags.cacheDir === undefined || flags.cacheDir === 'none') throw usage('cache-server needs --cache-dir DIR: the cache it serves');
    const group = groupOptions(flags, flags.listen)!;
    const metrics = await serveMetricsIfAsked(flags);
    const backends = await openBackends(metaUrl, { ...volumeOptionsToBackends(dataOptions(flags)), cacheGroup: group }).catch(async (err: unknown) => {
      await metrics?.close();
      throw err;
    });
    const g = backends.group!;
    process.stdout.write(`serving cache group "${group.name}" of ${redactUrl(metaUrl)} at ${g.address} (member ${g.id}${group.backup ? ', backup on' : ''})\n`);
    if (process.send) process.send({ listening: g.address, member: g.id });
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    process.stderr.write(`${signal}: leaving cache group "${group.name}"\n`);
    await backends.close();
    await metrics?.close();
  });
}
