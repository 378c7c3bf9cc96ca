// bench/cachegroup: the release's cache-group experiment on this machine. A volume on an s3rver
// process, a dataset of BENCH_GROUP_BLOCKS blocks, cache-group members as `strata cache-server`
// processes, and a no-sharing reader in this process (no disk cache of its own). Per scenario:
//  - 2 members, warmed, then 1 SIGKILLed: the group hit rate without and with group backup (the
//    release saw 55% and 86%; target >= 95% with backup);
//  - scale-out 3 -> 4 members: the hit rate right after the join, with and without asking the
//    owners from before the join;
//  - two readers of a cold group at once: object-store GETs per block (target ~1).
// A hit is a block a member served from its cache; store GETs count the reader's own and those the
// members made for it. Every byte read is checked against what was written.
// Run: npm run bench:cachegroup; writes bench/results/cachegroup.json. Env: BENCH_GROUP_BLOCKS
// (2048), BENCH_GROUP_BLOCK_KIB (128).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { packageRoot } from '../src/hotpath/locate.js';
import { Volume } from '../src/index.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY } from '../test/helpers/s3rver.js';
import { startCacheMember, type CacheMember } from './cache-members.js';
import { startS3rverProcess } from './s3rver-process.js';
import { envInt, printTable, progressBar, writeJson, type Row } from './table.js';

const BLOCKS = envInt('BENCH_GROUP_BLOCKS', 2048);
const BLOCK = envInt('BENCH_GROUP_BLOCK_KIB', 128) * 1024;
const BLOCKS_PER_FILE = 64;
const run = promisify(execFile);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

interface Outcome {
  blocks: number;
  hits: number;
  storeGets: number;
  mibPerS: number;
  wrong: number;
}

let dir = '';
let metaUrl = '';
const sums = new Map<string, string>();
let serial = 0;
const running: CacheMember[] = [];

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function members(group: string, n: number, flags: string[] = []): Promise<CacheMember[]> {
  const out: CacheMember[] = [];
  for (let i = 0; i < n; i++) out.push(await startCacheMember({ metaUrl, group, cacheDir: join(dir, `${group}-${++serial}`), args: flags }));
  running.push(...out);
  return out;
}

async function warm(group: string): Promise<void> {
  await run(process.execPath, [CLI, 'warmup', '--meta', metaUrl, '--cache-group', group, '--threads', '16', '/'], { maxBuffer: 64 * 1024 * 1024 });
}

async function fills(reader: Volume): Promise<number> {
  const stats = await reader.cacheGroup!.memberStats();
  return [...stats.values()].reduce((t, s) => t + Number(s.groupStoreFills ?? 0), 0);
}

/** `readers` no-sharing clients read the whole dataset at once; what it cost. */
async function readAll(group: string, flags: { handoffMs?: number } = {}, readers = 1): Promise<Outcome> {
  const vols = await Promise.all(Array.from({ length: readers }, () => Volume.open(metaUrl, { cacheDir: null, cacheGroup: { name: group, sharing: false, ...flags } })));
  try {
    const fillsBefore = await fills(vols[0]!);
    let wrong = 0;
    const started = performance.now();
    await Promise.all(vols.map(async (v) => {
      for (const [path, want] of sums) if (sha(await v.readFile(path)) !== want) wrong++;
    }));
    const seconds = (performance.now() - started) / 1000;
    const s = vols.map((v) => v.vfs.store.stats() as unknown as Record<string, number>);
    const hits = s.reduce((t, x) => t + x.remoteHits!, 0);
    const own = s.reduce((t, x) => t + x.blocksRead!, 0);
    return { blocks: BLOCKS * readers, hits, storeGets: own + (await fills(vols[0]!)) - fillsBefore, mibPerS: (readers * BLOCKS * BLOCK) / 2 ** 20 / seconds, wrong };
  } finally {
    for (const v of vols) await v.close();
  }
}

async function stopAll(): Promise<void> {
  for (const m of running.splice(0)) await m.stop();
}

async function main(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'strata-bench-group-'));
  const s3 = await startS3rverProcess(['groupbench']);
  const bar = progressBar('bench/cachegroup', 7);
  const results: Record<string, Outcome> = {};
  try {
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'groupbench', storage: `${s3.endpoint}/groupbench`, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY, blockSize: BLOCK, trashDays: 0 });
    const w = await Volume.open(metaUrl, { cacheDir: null });
    for (let f = 0; f * BLOCKS_PER_FILE < BLOCKS; f++) {
      const data = Buffer.alloc(Math.min(BLOCKS_PER_FILE, BLOCKS - f * BLOCKS_PER_FILE) * BLOCK);
      for (let j = 0; j + 4 <= data.length; j += 1024) data.writeUInt32LE((f * 2654435761 + j) >>> 0, j);
      sums.set(`/f${f}`, sha(data));
      await w.writeFile(`/f${f}`, data);
    }
    await w.close();
    bar.tick();

    // The reference in the same run: the reader with no group at all.
    results.storeOnly = await (async () => {
      const v = await Volume.open(metaUrl, { cacheDir: null });
      const t = performance.now();
      let wrong = 0;
      for (const [p, want] of sums) if (sha(await v.readFile(p)) !== want) wrong++;
      const s = v.vfs.store.stats();
      await v.close();
      return { blocks: BLOCKS, hits: 0, storeGets: s.blocksRead, mibPerS: (BLOCKS * BLOCK) / 2 ** 20 / ((performance.now() - t) / 1000), wrong };
    })();
    bar.tick();

    for (const backup of [false, true]) {
      const g = `kill-${backup ? 'backup' : 'plain'}`;
      const m = await members(g, 2, backup ? ['--group-backup'] : []);
      await warm(g);
      m[0]!.signal('SIGKILL');
      results[g] = await readAll(g);
      await stopAll();
      bar.tick();
    }

    for (const handoff of [true, false]) {
      const g = `scale-${handoff ? 'handoff' : 'none'}`;
      const flags = handoff ? [] : ['--group-handoff', '0'];
      await members(g, 3, flags);
      await warm(g);
      // Members started within 5 s of each other count as one join.
      await new Promise((r) => setTimeout(r, 5_500));
      await members(g, 1, flags);
      results[g] = await readAll(g, handoff ? {} : { handoffMs: 0 });
      await stopAll();
      bar.tick();
    }

    await members('two-readers', 2);
    results.twoReaders = await readAll('two-readers', {}, 2);
    await stopAll();
    bar.tick();
  } finally {
    bar.stop();
    await stopAll();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const pct = (o: Outcome) => `${((100 * o.hits) / o.blocks).toFixed(1)}%`;
  const ref = results.storeOnly!;
  const row = (name: string, o: Outcome, release: string, target: string): Row => ({
    scenario: name, blocks: o.blocks, 'group hits': o.hits, 'hit rate': pct(o), 'store GETs': o.storeGets, 'GETs/block': o.storeGets / o.blocks,
    'MiB/s': o.mibPerS, 'vs store only': o.mibPerS / ref.mibPerS, 'wrong bytes': o.wrong, release, target,
  });
  const rows: Row[] = [
    row('store only (no group): reference', ref, '-', '-'),
    row('2 members, 1 killed, no backup', results['kill-plain']!, '55%', '~50%'),
    row('2 members, 1 killed, group backup', results['kill-backup']!, '86%', '>= 95%'),
    row('3 -> 4 members, previous owners asked', results['scale-handoff']!, '-', 'high'),
    row('3 -> 4 members, no handoff', results['scale-none']!, '-', '~75%'),
    row('2 readers, cold group of 2', results.twoReaders!, '-', '~0.5 GETs/block'),
  ];
  printTable(`Cache group: ${BLOCKS} blocks of ${BLOCK / 1024} KiB on s3rver; members are cache-server processes; the reader has no cache of its own`, rows);
  const backupRate = results['kill-backup']!.hits / results['kill-backup']!.blocks;
  const wrong = Object.values(results).reduce((t, o) => t + o.wrong, 0);
  const met = backupRate >= 0.95 && wrong === 0 && results.twoReaders!.storeGets <= BLOCKS * 1.05;
  console.log(`\nTarget (hit rate >= 95% with backup after losing 1 of 2 members; GETs ~1 per block for 2 readers; 0 wrong bytes): ${met ? 'met' : 'MISSED'}`);
  const file = await writeJson(packageRoot(), 'cachegroup', { blocks: BLOCKS, blockBytes: BLOCK, results, rows, met });
  console.log(`results: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
