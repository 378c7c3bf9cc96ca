// strata warmup: fill the disk cache with the blocks of files and trees before a job reads them
// (or check how much of them is cached, or drop them). Paths are on a Strata mount — the volume
// and its cache directories come from the mount's `.stats` — or, with --meta, inside a volume.
import { readFile, stat } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { STATS_INO, STATS_NAME, type MountedVolumeInfo } from '../../fuse/stats.js';
import { parseBlockKey } from '../../chunk/keys.js';
import type { BlockCacheControl } from '../../chunk/store.js';
import { Volume } from '../../sdk/volume.js';
import type { CacheGroup } from '../../cachegroup/group.js';
import { addDataFlags, dataOptions, type DataFlags } from '../data-flags.js';
import { humanSize, printRows } from '../output.js';
import { newProgress } from '../progress.js';
import { wholeNumber } from '../parse.js';
import { totalsLine, warmupCounters } from '../../metrics/jobs.js';
import { eachLimited } from '../../admin/batch.js';

interface WarmupFlags extends DataFlags {
  threads: number;
  cacheGroup?: string;
  evict?: boolean;
  check?: boolean;
  meta?: string;
}

interface Target {
  metaUrl: string;
  /** Paths inside the volume. */
  paths: string[];
  cache: MountedVolumeInfo['cache'];
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

/** The Strata mount holding `path`: the nearest directory upwards whose `.stats` is the mount's. */
async function findMount(path: string): Promise<{ root: string; info: MountedVolumeInfo } | null> {
  let dir = resolve(path);
  const st = await stat(dir).catch(() => null);
  if (!st) throw Object.assign(new Error(`${path}: no such file or directory`), { code: 'ENOENT' });
  if (!st.isDirectory()) dir = dirname(dir);
  for (;;) {
    const statsFile = `${dir}${dir.endsWith(sep) ? '' : sep}${STATS_NAME}`;
    const s = await stat(statsFile, { bigint: true }).catch(() => null);
    if (s && s.ino === BigInt(STATS_INO)) {
      const snapshot = JSON.parse(await readFile(statsFile, 'utf8')) as { volume?: MountedVolumeInfo };
      if (snapshot.volume) return { root: dir, info: snapshot.volume };
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

async function resolveTargets(paths: string[], meta: string | undefined): Promise<Target> {
  if (meta !== undefined) {
    for (const p of paths) if (!p.startsWith('/')) throw usage(`with --meta, paths are inside the volume and start with "/", got "${p}"`);
    return { metaUrl: meta, paths, cache: null };
  }
  let found: { root: string; info: MountedVolumeInfo } | null = null;
  const inside: string[] = [];
  for (const p of paths) {
    const m = await findMount(p);
    if (!m) throw usage(`${p} is not on a Strata mount (no mount .stats above it); mount the volume, or name it with --meta URL and give paths inside it`);
    if (found && found.root !== m.root) throw usage(`the paths are on two mounts (${found.root} and ${m.root}); warm up one mount at a time`);
    found = m;
    inside.push(`/${relative(m.root, resolve(p)).split(sep).filter(Boolean).join('/')}`);
  }
  const info = found!.info;
  if (!info.metaUsable) throw usage(`the mount at ${found!.root} uses ${info.meta}, whose password is not shown; pass it with --meta URL`);
  return { metaUrl: info.meta, paths: inside, cache: info.cache };
}

/** The block keys of every regular file at or below `path`, and how many files there were. */
async function blocksOf(vol: Volume, path: string, keys: Set<string>): Promise<number> {
  const st = await vol.lstat(path);
  if (st.isDirectory()) {
    warmupCounters.dirs.inc({ volume: vol.name });
    let files = 0;
    for (const d of await vol.readdir(path, { withFileTypes: true })) files += await blocksOf(vol, `${path === '/' ? '' : path}/${d.name}`, keys);
    return files;
  }
  if (!st.isFile()) return 0;
  const info = await vol.info(path);
  for (const c of info.chunks) for (const s of c.slices) for (const k of s.keys) keys.add(k);
  warmupCounters.files.inc({ volume: vol.name });
  return 1;
}

const blockBytes = (key: string) => parseBlockKey(key)?.blockLength ?? 0;

/** What warmup fills: this host's disk cache, or a cache group's members. */
type WarmTarget = Pick<BlockCacheControl, 'warm'>;

async function warm(cache: WarmTarget, keys: string[], threads: number, volume: string): Promise<void> {
  const bar = newProgress('warming up', keys.length);
  let done = 0;
  let fetched = 0;
  let fetchedBytes = 0;
  const failures: string[] = [];
  const started = Date.now();
  await eachLimited(keys, threads, async (key) => {
    try {
      if ((await cache.warm(key)) === 'fetched') {
        fetched++;
        fetchedBytes += blockBytes(key);
        warmupCounters.blocks.inc({ volume, result: 'fetched' });
        warmupCounters.bytes.inc({ volume }, blockBytes(key));
      } else {
        warmupCounters.blocks.inc({ volume, result: 'cached' });
      }
    } catch (err) {
      failures.push(`${key}: ${(err as Error).message}`);
      warmupCounters.blocks.inc({ volume, result: 'failed' });
    }
    bar.update(++done);
  });
  bar.stop();
  const s = (Date.now() - started) / 1000;
  process.stdout.write(`Warmed up ${keys.length} blocks: ${fetched} fetched (${humanSize(fetchedBytes)}), ${keys.length - fetched - failures.length} already cached, ` +
    `${failures.length} failed, in ${s.toFixed(1)} s${fetched ? ` (${humanSize(fetchedBytes / Math.max(s, 0.001))}/s)` : ''}\n`);
  process.stdout.write(`metrics: ${await totalsLine('strata_warmup_')}\n`);
  if (failures.length > 0) {
    for (const f of failures.slice(0, 10)) process.stderr.write(`strata: ${f}\n`);
    throw new Error(`${failures.length} block${failures.length === 1 ? '' : 's'} could not be cached`);
  }
}

async function check(cache: BlockCacheControl, keys: string[], threads: number): Promise<void> {
  const perDir = new Map<string, { cached: number; total: number; blocks: number; cachedBlocks: number }>();
  for (const d of cache.describe().dirs) perDir.set(d, { cached: 0, total: 0, blocks: 0, cachedBlocks: 0 });
  const bar = newProgress('checking', keys.length);
  let done = 0;
  await eachLimited(keys, threads, async (key) => {
    const { dir, bytes } = await cache.locate(key);
    const length = blockBytes(key);
    const row = perDir.get(dir)!;
    row.total += length;
    row.blocks++;
    // A cache file holds the block and its piece checksums: count only the block's bytes.
    if (bytes > 0) {
      row.cached += length;
      row.cachedBlocks++;
    }
    bar.update(++done);
  });
  bar.stop();
  const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
  const rows = [...perDir].map(([dir, r]) => [dir, `${r.cachedBlocks}/${r.blocks}`, humanSize(r.cached), humanSize(r.total), pct(r.cached, r.total)]);
  const all = [...perDir.values()].reduce((a, r) => ({ cached: a.cached + r.cached, total: a.total + r.total, blocks: a.blocks + r.blocks, cachedBlocks: a.cachedBlocks + r.cachedBlocks }), { cached: 0, total: 0, blocks: 0, cachedBlocks: 0 });
  if (perDir.size > 1) rows.push(['(all)', `${all.cachedBlocks}/${all.blocks}`, humanSize(all.cached), humanSize(all.total), pct(all.cached, all.total)]);
  printRows(['cache directory', 'blocks', 'cached', 'of', 'percent'], rows);
}

/** How many of the blocks each member of the group holds (members that do not answer say so). */
async function checkGroup(group: CacheGroup, keys: string[], threads: number): Promise<void> {
  const members = group.members().filter((m) => !m.self || group.sharing);
  const per = new Map(members.map((m) => [m.address, { blocks: 0, bytes: 0, owned: 0 }]));
  let nowhere = 0;
  const bar = newProgress('checking', keys.length);
  let done = 0;
  await eachLimited(keys, threads, async (key) => {
    const holders = await group.holders(key);
    const owner = group.placement(key)[0]?.address;
    if (holders.length === 0) nowhere++;
    for (const h of holders) {
      const row = per.get(h);
      if (!row) continue;
      row.blocks++;
      row.bytes += blockBytes(key);
      if (h === owner) row.owned++;
    }
    bar.update(++done);
  });
  bar.stop();
  const pct = (a: number) => (keys.length === 0 ? '-' : `${((100 * a) / keys.length).toFixed(1)}%`);
  printRows(['member', 'reachable', 'weight', 'blocks held', 'as owner', 'bytes', 'of all blocks'],
    members.map((m) => { const r = per.get(m.address)!; return [m.address, m.reachable ? 'yes' : 'no', String(m.weight), String(r.blocks), String(r.owned), humanSize(r.bytes), pct(r.blocks)]; }));
  process.stdout.write(`${keys.length - nowhere}/${keys.length} blocks held by at least one member (${pct(keys.length - nowhere)}); group backup ${group.backup ? 'on' : 'off'}\n`);
}

async function evict(cache: BlockCacheControl, keys: string[], threads: number): Promise<void> {
  const bar = newProgress('evicting', keys.length);
  let done = 0;
  await eachLimited(keys, threads, async (key) => {
    await cache.evict(key);
    bar.update(++done);
  });
  bar.stop();
  process.stdout.write(`Evicted ${keys.length} blocks from the cache\n`);
}

export function registerWarmup(program: Command): void {
  const cmd = program
    .command('warmup')
    .description("fill the disk cache with the blocks of files or trees (on a Strata mount, or inside the volume named by --meta); --check shows how much is cached, --evict drops them")
    .argument('<paths...>', 'files or directories')
    .option('--threads <n>', 'blocks fetched at once', wholeNumber('--threads', 256), 10)
    .option('--check', 'only report, per cache directory, how much of these paths is cached')
    .option('--evict', 'remove these paths\' blocks from the cache')
    .option('--meta <url>', 'the volume\'s metadata URL (then paths are inside the volume, e.g. /datasets/train)')
    .option('--cache-group <name>', 'warm the members of this cache group instead of this host\'s cache (each block on its owner, and backup); with --check, show what each member holds');
  addDataFlags(cmd).action(async (paths: string[], flags: WarmupFlags) => {
    if (flags.check && flags.evict) throw usage('--check and --evict do not go together');
    if (flags.threads < 1) throw usage('--threads takes a whole number from 1 to 256');
    const target = await resolveTargets(paths, flags.meta);
    const options = dataOptions(flags);
    const c = target.cache;
    // The mount's cache unless told otherwise: warming another directory would not help it.
    if (c && options.cacheDir === undefined) {
      Object.assign(options, {
        cacheDir: c.dirs, cacheSize: options.cacheSize ?? c.size, freeSpaceRatio: options.freeSpaceRatio ?? c.freeSpaceRatio,
        verifyCacheChecksum: options.verifyCacheChecksum ?? c.verify,
      });
    }
    const vol = await Volume.open(target.metaUrl, { ...options, client: 'cli-warmup', cacheGroup: flags.cacheGroup === undefined ? undefined : { name: flags.cacheGroup, sharing: false } });
    try {
      const group = vol.cacheGroup;
      const cache = vol.vfs.store.blockCache;
      if (group && flags.evict) throw usage('--evict works on this host\'s cache, not a cache group\'s');
      if (group && group.members().length === 0) throw new Error(`cache group "${flags.cacheGroup}" has no live member: start one (strata cache-server, or mount with --cache-group)`);
      if (!group && !cache) throw new Error('this volume has no disk cache here (its storage is a local directory, or --cache-dir none): there is nothing to warm up; pass --cache-dir DIR to use one');
      const keys = new Set<string>();
      let files = 0;
      for (const p of target.paths) files += await blocksOf(vol, p, keys);
      const list = [...keys];
      const members = group ? group.members().length : 0;
      process.stdout.write(`${files} file${files === 1 ? '' : 's'}, ${list.length} block${list.length === 1 ? '' : 's'} (${humanSize(list.reduce((n, k) => n + blockBytes(k), 0))})` +
        `${group ? `, cache group "${flags.cacheGroup}" of ${members} member${members === 1 ? '' : 's'}` : ''}\n`);
      if (group) await (flags.check ? checkGroup(group, list, flags.threads) : warm(group, list, flags.threads, vol.name));
      else if (flags.check) await check(cache!, list, flags.threads);
      else if (flags.evict) await evict(cache!, list, flags.threads);
      else await warm(cache!, list, flags.threads, vol.name);
    } finally {
      await vol.close();
    }
  });
}
