// bench/import: how fast `strata import` turns objects into files, against how fast the same
// store answers the requests any import needs — a LIST of every key and a HEAD of each — in the
// same run, as a ratio. The source is s3rver in a process of its own; the volume is SQLite with
// its blocks in the same bucket. Link mode (the default) only writes metadata; copy mode also
// reads each object and stores it as blocks. A dry run (LIST plus one metadata lookup per
// object) shows the cost of looking alone.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eachLimited, listPages } from '../src/admin/batch.js';
import { importObjects } from '../src/admin/import.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { Volume } from '../src/index.js';
import { openObjectStore } from '../src/object/open.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY } from '../test/helpers/s3rver.js';
import { startS3rverProcess } from './s3rver-process.js';
import { envInt, printTable, progressBar, writeJson, type Row } from './table.js';

const OBJECTS = envInt('STRATA_BENCH_IMPORT_OBJECTS', 2000);
const SIZE = envInt('STRATA_BENCH_IMPORT_SIZE', 4096, 0);
const THREADS = envInt('STRATA_BENCH_IMPORT_THREADS', 10);
const creds = { accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY };

async function main(): Promise<void> {
  const root = await fs.mkdtemp(join(process.env.BENCH_DIR || tmpdir(), 'strata-import-'));
  const srv = await startS3rverProcess(['bench']);
  try {
    const bucket = await openObjectStore(`${srv.endpoint}/bench`, creds);
    const keys = Array.from({ length: OBJECTS }, (_, i) => `data/${i % 50}/${Math.floor(i / 50) % 10}/obj-${i}`);
    const bar = progressBar('putting objects', OBJECTS);
    await eachLimited(keys, 16, async (k) => {
      await bucket.put(k, randomBytes(SIZE));
      bar.tick();
    });
    bar.stop();

    // The reference: what listing and asking after every object costs the store.
    let t = performance.now();
    const listed: string[] = [];
    for await (const page of listPages(bucket, '', 1000, () => false)) listed.push(...page.objects.map((o) => o.key));
    await eachLimited(listed, THREADS, async (k) => { await bucket.head(k); });
    const listHeadS = (performance.now() - t) / 1000;
    await bucket.close();

    // The volume keeps its blocks in the same bucket, so link mode can name the objects.
    const metaUrl = `sqlite3://${join(root, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'imp', storage: `${srv.endpoint}/bench`, trashDays: 0, ...creds });
    const source = await openObjectStore(`${srv.endpoint}/bench`, creds);
    const vol = await Volume.open(metaUrl);
    const runs: Row[] = [];
    const rate = (s: number) => OBJECTS / s;
    const timed = async (run: string, options: Omit<Parameters<typeof importObjects>[2], 'threads'>) => {
      const start = performance.now();
      const r = await importObjects(vol, source, { ...options, threads: THREADS });
      const s = (performance.now() - start) / 1000;
      if (r.imported !== OBJECTS || r.failures.length > 0) throw new Error(`${run} made ${r.imported} of ${OBJECTS} files: ${JSON.stringify(r.failures.slice(0, 3))}`);
      runs.push({ run, 'objects/s': rate(s), ratio: rate(s) / rate(listHeadS) });
    };
    try {
      runs.push({ run: 'LIST + HEAD each (store)', 'objects/s': rate(listHeadS), ratio: 1 });
      await timed('import --dry-run', { dst: '/dry', dryRun: true });
      await timed('import (link)', { dst: '/linked', linkPrefix: '' });
      await timed('import (copy)', { dst: '/copied' });
    } finally {
      await vol.close();
      await source.close();
    }
    printTable(`import of ${OBJECTS} objects of ${SIZE} bytes from s3rver, ${THREADS} at once (ratio: to the store's LIST + HEAD rate)`, runs);
    const out = await writeJson(packageRoot(), 'import', { objects: OBJECTS, size: SIZE, threads: THREADS, runs });
    console.log(`results: ${out}`);
  } finally {
    await srv.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench/import: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
