// strata demo: the embedded default end to end — format (if needed), write and read back files
// through the SDK, verify every byte, then print the volume's status.
import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { Volume } from '../../sdk/volume.js';
import { newProgress } from '../progress.js';
import { printStatus } from './status.js';
import { defaultStorage } from '../../sdk/backends.js';
import { redactUrl } from '../../config/urls.js';

const MiB = 1024 * 1024;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('format a volume if needed, write and read back files through the SDK, and print its status')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./.strata/meta.db')
    .option('--size <mib>', 'MiB written to the large file', (v) => Number(v), 256)
    .action(async (metaUrl: string, flags: { size: number }) => {
      if (!Number.isInteger(flags.size) || flags.size < 1 || flags.size > 65536) {
        throw Object.assign(new Error(`--size takes MiB from 1 to 65536, got ${String(flags.size)}`), { exitCode: 2 });
      }
      // Any volume already there is used as it is (npm start formats one named "strata").
      const existing = await Volume.open(metaUrl, { client: 'demo' }).catch((err: { code?: string }) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (!existing) {
        await Volume.format(metaUrl, { name: 'demo' });
        process.stdout.write(`Formatted volume "demo" at ${redactUrl(metaUrl)} (data in ${defaultStorage(metaUrl)})\n`);
      } else {
        process.stdout.write(`Using the volume at ${redactUrl(metaUrl)}\n`);
      }
      const vol = existing ?? await Volume.open(metaUrl, { client: 'demo' });
      try {
        const run = new Date().toISOString().replace(/[:.]/g, '-');
        const dir = `/runs/${run}`;
        await vol.mkdir(dir, { recursive: true });
        // One large file written in 1 MiB pieces, hashed on the way in and on the way out.
        const chunk = randomBytes(MiB);
        const wrote = createHash('sha256');
        let t0 = performance.now();
        const bar = newProgress('writing', flags.size);
        const fh = await vol.open(`${dir}/big.bin`, 'w');
        for (let i = 0; i < flags.size; i++) {
          chunk.writeUInt32LE(i, 0);
          wrote.update(chunk);
          await fh.write(chunk);
          bar.update(i + 1);
        }
        await fh.close();
        bar.stop();
        const writeS = (performance.now() - t0) / 1000;
        t0 = performance.now();
        const read = createHash('sha256');
        const rh = await vol.open(`${dir}/big.bin`, 'r');
        const buf = Buffer.alloc(MiB);
        const rbar = newProgress('reading', flags.size);
        for (let i = 0; ; i++) {
          const { bytesRead } = await rh.read(buf, 0, MiB, null);
          if (bytesRead === 0) break;
          read.update(buf.subarray(0, bytesRead));
          rbar.update(i + 1);
        }
        await rh.close();
        rbar.stop();
        const readS = (performance.now() - t0) / 1000;
        const same = wrote.digest('hex') === read.digest('hex');
        // Many small files: the metadata path.
        t0 = performance.now();
        for (let i = 0; i < 1000; i++) await vol.writeFile(`${dir}/small-${i}.txt`, `file ${i} of run ${run}\n`);
        const createS = (performance.now() - t0) / 1000;
        const back = await vol.readFile(`${dir}/small-999.txt`, 'utf8');
        const listed = (await vol.readdir(dir)).length;
        process.stdout.write([
          `Wrote ${flags.size} MiB to ${dir}/big.bin in ${writeS.toFixed(2)} s (${(flags.size / writeS).toFixed(0)} MiB/s)`,
          `Read it back in ${readS.toFixed(2)} s (${(flags.size / readS).toFixed(0)} MiB/s); sha256 ${same ? 'matches' : 'DIFFERS'}`,
          `Created 1000 small files in ${createS.toFixed(2)} s (${(1000 / createS).toFixed(0)}/s); ${dir} lists ${listed} entries; small-999.txt reads back ${JSON.stringify(back.trim())}`,
          '',
        ].join('\n'));
        if (!same) throw new Error('the bytes read back differ from the bytes written');
      } finally {
        await vol.close();
      }
      await printStatus(metaUrl, false);
    });
}
