// bench/hotpath: the WASM hot path against native anchors measured in the same run.
// Run: npm run bench:hotpath   (after `npm run setup`); writes bench/results/hotpath.json.
import { randomFillSync } from 'node:crypto';
import zlib from 'node:zlib';
import { xxh3 as nativeXxh3 } from '@node-rs/xxhash';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { xxh3, crc32c, checksumBlocksOnPool, resolveSlices, ReadAheadPlanner, allocBuffer, type Slice } from '../src/hotpath/index.js';
import { closePool, poolSize } from '../src/hotpath/pool.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { medianMs, printTable, writeJson, progressBar, type Row } from './table.js';

const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const gbps = (bytes: number, ms: number) => bytes / 1e9 / (ms / 1000);

async function main(): Promise<void> {
  const steps = progressBar('bench/hotpath', 6);
  const block = allocBuffer(BLOCK); // already in WASM memory, as the read path leaves it
  randomFillSync(block);
  const outside = Buffer.alloc(BLOCK);
  randomFillSync(outside);

  // Pool batches: one 4 MiB block per call, blocks spread over the pool's workers.
  const batchBlocks = 8;
  const poolBlocks = Array.from({ length: batchBlocks }, () => {
    const b = allocBuffer(BLOCK);
    randomFillSync(b);
    return { data: b, key: 'vol/chunks/0/0/1_0_4194304' };
  });

  const checksumRows: Row[] = [];
  const xxInline = await medianMs(ROUNDS, () => xxh3(block, 7n));
  const xxCopy = await medianMs(ROUNDS, () => xxh3(outside, 7n));
  const xxPool = await medianMs(Math.max(3, ROUNDS / 3), () => checksumBlocksOnPool(poolBlocks));
  const xxNative = await medianMs(ROUNDS, () => nativeXxh3.Xxh3.withSeed(7n).update(block).digest());
  checksumRows.push({
    function: 'XXH3-64 (4 MiB block)',
    'GB/s in WASM memory': gbps(BLOCK, xxInline),
    'GB/s copied in': gbps(BLOCK, xxCopy),
    [`GB/s pool x${poolSize()}`]: gbps(BLOCK * batchBlocks, xxPool),
    'native GB/s': gbps(BLOCK, xxNative),
    'ratio vs native': xxNative / xxInline,
    anchor: '@node-rs/xxhash Xxh3',
  });
  steps.tick();

  const crcInline = await medianMs(ROUNDS, () => crc32c(block));
  const crcCopy = await medianMs(ROUNDS, () => crc32c(outside));
  const crcNative = await medianMs(ROUNDS, () => nativeCrc32c(block));
  checksumRows.push({
    function: 'CRC32C (4 MiB block)',
    'GB/s in WASM memory': gbps(BLOCK, crcInline),
    'GB/s copied in': gbps(BLOCK, crcCopy),
    [`GB/s pool x${poolSize()}`]: NaN,
    'native GB/s': gbps(BLOCK, crcNative),
    'ratio vs native': crcNative / crcInline,
    anchor: '@node-rs/crc32',
  });
  const zlibCrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (zlibCrc) {
    const z = await medianMs(ROUNDS, () => zlibCrc(block));
    checksumRows.push({
      function: 'CRC32 zlib (context)',
      'GB/s in WASM memory': NaN,
      'GB/s copied in': NaN,
      [`GB/s pool x${poolSize()}`]: NaN,
      'native GB/s': gbps(BLOCK, z),
      'ratio vs native': NaN,
      anchor: 'node:zlib crc32',
    });
  }
  steps.tick();

  const sliceRows: Row[] = [];
  for (const n of [10, 100, 1000, 10000]) {
    const slices = randomSlices(n);
    let pieces = 0;
    const ms = await medianMs(n >= 10000 ? 5 : ROUNDS, () => {
      pieces = resolveSlices(slices, 0, 64 * MiB, BLOCK).length;
    });
    sliceRows.push({ slices: n, pieces, 'ms per resolve': ms, 'pieces/s': pieces / (ms / 1000), 'target': n === 1000 ? '< 1 ms' : '' });
  }
  steps.tick();

  const planner = new ReadAheadPlanner(BLOCK, 64 * MiB);
  const fileSize = 1024 * 1024 * MiB;
  const decisions = 200_000;
  let off = 0;
  const plannerMs = await medianMs(5, () => {
    for (let i = 0; i < decisions; i++) {
      // Mostly sequential 128 KiB kernel-style reads with an occasional random jump.
      off = i % 1000 === 999 ? Math.floor(Math.random() * (fileSize / BLOCK)) * BLOCK : off + 128 * 1024;
      if (off >= fileSize) off = 0;
      planner.onRead(off, 128 * 1024, fileSize);
    }
  });
  planner.close();
  const plannerRows: Row[] = [{ function: 'read-ahead planner', 'decisions/s': decisions / (plannerMs / 1000) }];
  steps.tick();
  steps.tick();
  steps.tick();
  steps.stop();

  printTable('Checksums (median of rounds; ratio vs native = Strata throughput / native throughput)', checksumRows);
  printTable('Slice resolution (newest-wins over one 64 MiB chunk, 4 MiB blocks)', sliceRows);
  printTable('Read-ahead planning', plannerRows);
  const file = await writeJson(packageRoot(), 'hotpath', { when: new Date().toISOString(), rounds: ROUNDS, checksums: checksumRows, slices: sliceRows, planner: plannerRows });
  console.log(`\nsummary: XXH3 ${checksumRows[0]['ratio vs native'] as number >= 0.85 ? 'meets' : 'misses'} 0.85x native; ` +
    `CRC32C ${checksumRows[1]['ratio vs native'] as number >= 0.5 ? 'meets' : 'misses'} 0.5x native; ` +
    `1,000 slices resolve in ${(sliceRows[2]['ms per resolve'] as number).toFixed(3)} ms. JSON: ${file}`);
  await closePool();
}

function randomSlices(n: number): Slice[] {
  const chunk = 64 * MiB;
  const out: Slice[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(Math.random() * 8 * MiB);
    const pos = Math.floor(Math.random() * (chunk - len));
    out.push({ id: i + 1, size: len, pos, off: 0, len });
  }
  return out;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
