// strata objbench STORAGE_URL: is the object store usable by Strata (functional checks of every
// call the data path makes), and how fast is it (put/get/head/list/delete throughput), measured
// on the store itself without metadata or caches in the way. Works under a fresh random prefix
// and removes what it wrote, also when a check fails.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { errorCode } from '../../errors/errno.js';
import { openObjectStore } from '../../object/open.js';
import { PrefixedObjectStore } from '../../object/prefix.js';
import type { ObjectStore } from '../../object/store.js';
import { formatSize, printRows } from '../output.js';
import { blockSize, wholeNumber } from '../parse.js';
import { newProgress } from '../progress.js';

interface ObjbenchFlags {
  blockSize: number;
  count: number;
  smallCount: number;
  threads: number;
  accessKey?: string;
  secretKey?: string;
  ioRetries?: number;
  skipFunctional?: boolean;
}

type Check = [name: string, run: (s: ObjectStore) => Promise<void>];

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

const CHECKS: Check[] = [
  ['put and get a block', async (s) => {
    const data = randomBytes(1024 * 1024 + 7);
    await s.put('check/block', data);
    must((await s.get('check/block')).equals(data), 'the bytes read back differ from those written');
  }],
  ['put from parts', async (s) => {
    const a = randomBytes(1000);
    const b = randomBytes(3000);
    await s.put('check/parts', [a, b]);
    must((await s.get('check/parts')).equals(Buffer.concat([a, b])), 'the object is not the parts joined');
  }],
  ['range reads (get and getInto)', async (s) => {
    const data = await s.get('check/block');
    must((await s.get('check/block', { offset: 4096, length: 8192 })).equals(data.subarray(4096, 12288)), 'a middle range came back wrong');
    must((await s.get('check/block', { offset: data.length - 10, length: 100 })).equals(data.subarray(-10)), 'a range past the end came back wrong');
    const target = Buffer.alloc(5000);
    must((await s.getInto('check/block', 100, target)) === 5000 && target.equals(data.subarray(100, 5100)), 'getInto filled the buffer wrong');
  }],
  ['head', async (s) => {
    must((await s.head('check/block'))?.size === 1024 * 1024 + 7, 'head reported the wrong size');
    must((await s.head('check/none')) === undefined, 'head of a missing key found something');
  }],
  ['missing key is ENOENT', async (s) => {
    const code = await s.get('check/none').then(() => 'found', (e: unknown) => errorCode(e));
    must(code === 'ENOENT', `get of a missing key gave ${String(code)}, not ENOENT`);
  }],
  ['list (prefix, delimiter, paging)', async (s) => {
    await Promise.all(['check/l/a', 'check/l/b/1', 'check/l/c'].map((k) => s.put(k, Buffer.from(k))));
    const flat = await s.list({ prefix: 'check/l/' });
    must(flat.objects.map((o) => o.key).join() === 'check/l/a,check/l/b/1,check/l/c', `listing found ${flat.objects.map((o) => o.key).join() || 'nothing'}`);
    const rolled = await s.list({ prefix: 'check/l/', delimiter: '/' });
    must(rolled.prefixes.join() === 'check/l/b/' && rolled.objects.length === 2, 'the delimiter did not roll up check/l/b/');
    const first = await s.list({ prefix: 'check/l/', limit: 2 });
    const rest = await s.list({ prefix: 'check/l/', limit: 2, startAfter: first.next });
    must(first.truncated && !rest.truncated && rest.objects.length === 1, 'paging with limit and next went wrong');
  }],
  ['delete (and delete of a missing key)', async (s) => {
    await s.delete('check/parts');
    must((await s.head('check/parts')) === undefined, 'the object is still there after delete');
    await s.delete('check/parts');
  }],
];

interface Row {
  test: string;
  ops: number;
  seconds: number;
  bytes?: number;
}

/** Run `work(i)` for i in 0..count-1, `threads` at a time, with a progress bar; seconds taken. */
async function phase(label: string, count: number, threads: number, work: (i: number) => Promise<void>): Promise<number> {
  const bar = newProgress(label, count);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  try {
    await Promise.all(Array.from({ length: Math.min(threads, count) }, async () => {
      while (next < count) {
        await work(next++);
        bar.update(++done);
      }
    }));
  } finally {
    bar.stop();
  }
  return (performance.now() - t0) / 1000;
}

async function throughput(s: ObjectStore, f: ObjbenchFlags): Promise<Row[]> {
  const rows: Row[] = [];
  const data = randomBytes(f.blockSize);
  const small = randomBytes(4096);
  const key = (i: number) => `big/${i}`;
  const smallKey = (i: number) => `small/${Math.floor(i / 100)}/${i}`;
  rows.push({ test: `put ${formatSize(f.blockSize)}`, ops: f.count, bytes: f.blockSize * f.count, seconds: await phase('put', f.count, f.threads, (i) => s.put(key(i), data)) });
  const target = Array.from({ length: f.threads }, () => Buffer.allocUnsafe(f.blockSize));
  let slot = 0;
  rows.push({ test: `get ${formatSize(f.blockSize)}`, ops: f.count, bytes: f.blockSize * f.count, seconds: await phase('get', f.count, f.threads, async (i) => {
    const buf = target[slot++ % target.length];
    if ((await s.getInto(key(i), 0, buf)) !== f.blockSize) throw new Error(`get of ${key(i)} came back short`);
  }) });
  rows.push({ test: 'put 4K', ops: f.smallCount, bytes: 4096 * f.smallCount, seconds: await phase('put small', f.smallCount, f.threads, (i) => s.put(smallKey(i), small)) });
  rows.push({ test: 'get 4K', ops: f.smallCount, bytes: 4096 * f.smallCount, seconds: await phase('get small', f.smallCount, f.threads, async (i) => void (await s.get(smallKey(i)))) });
  rows.push({ test: 'head', ops: f.smallCount, seconds: await phase('head', f.smallCount, f.threads, async (i) => void (await s.head(smallKey(i)))) });
  let listed = 0;
  const listS = await phase('list', 1, 1, async () => {
    for (let after: string | undefined; ;) {
      const page = await s.list({ prefix: 'small/', startAfter: after });
      listed += page.objects.length;
      if (!page.truncated) break;
      after = page.next;
    }
  });
  if (listed !== f.smallCount) throw new Error(`list found ${listed} of the ${f.smallCount} small objects`);
  rows.push({ test: 'list (objects listed)', ops: listed, seconds: listS });
  rows.push({ test: 'delete', ops: f.smallCount + f.count, seconds: await phase('delete', f.smallCount + f.count, f.threads, (i) => s.delete(i < f.count ? key(i) : smallKey(i - f.count))) });
  return rows;
}

function printSummary(rows: Row[]): void {
  printRows(['test', 'count', 'time', 'ops/s', 'throughput', 'avg latency'], rows.map((r) => [
    r.test, r.ops, `${r.seconds.toFixed(2)} s`, (r.ops / r.seconds).toFixed(1),
    r.bytes === undefined ? '-' : `${(r.bytes / 2 ** 20 / r.seconds).toFixed(1)} MiB/s`,
    `${((r.seconds * 1000) / r.ops).toFixed(2)} ms/op`,
  ]));
}

/** Remove every key under the bench's prefix (what a failed run left behind too). */
async function cleanUp(s: ObjectStore): Promise<void> {
  for (;;) {
    const page = await s.list();
    await Promise.all(page.objects.map((o) => s.delete(o.key)));
    if (!page.truncated) return;
  }
}

export function registerObjbench(program: Command): void {
  program
    .command('objbench')
    .description('check that an object store works for Strata, and measure its put/get/head/list/delete throughput')
    .argument('<storage-url>', 'storage URL, e.g. s3://mybucket, http://127.0.0.1:9000/mybucket or file:///var/lib/strata/data')
    .option('--block-size <size>', 'size of the big objects (default 4M)', blockSize('--block-size'), 4 * 2 ** 20)
    .option('--count <n>', 'big objects to put and get (default 64)', wholeNumber('--count', 1_000_000), 64)
    .option('--small-count <n>', '4 KiB objects to put, get, head, list and delete (default 1000)', wholeNumber('--small-count', 1_000_000), 1000)
    .option('--threads <n>', 'requests in flight at once (default 16)', wholeNumber('--threads', 1024), 16)
    .option('--access-key <key>', 'S3 access key (default: from the URL, or AWS_ACCESS_KEY_ID)')
    .option('--secret-key <secret>', 'S3 secret key')
    .option('--io-retries <n>', 'retries per request before giving up (default 10)', wholeNumber('--io-retries', 1000))
    .option('--skip-functional', 'only measure throughput')
    .addHelpText('after', '\nExamples:\n  strata objbench s3://mybucket/bench\n  strata objbench http://127.0.0.1:9000/mybucket --access-key AK --secret-key SK --threads 32')
    .action(async (url: string, flags: ObjbenchFlags) => {
      if (flags.threads < 1) throw Object.assign(new Error('--threads must be at least 1'), { exitCode: 2 });
      if (flags.count < 1) throw Object.assign(new Error('--count must be at least 1'), { exitCode: 2 });
      if ((flags.accessKey === undefined) !== (flags.secretKey === undefined)) throw Object.assign(new Error('give both --access-key and --secret-key, or neither'), { exitCode: 2 });
      const root = await openObjectStore(url, { accessKey: flags.accessKey, secretKey: flags.secretKey, ioRetries: flags.ioRetries });
      const store = new PrefixedObjectStore(root, `objbench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
      process.stdout.write(`Object store ${store.describe()}\n`);
      let failed = 0;
      try {
        if (!flags.skipFunctional) {
          const results: (string | number)[][] = [];
          for (const [name, run] of CHECKS) {
            const t0 = performance.now();
            const outcome = await run(store).then(() => 'ok', (e: unknown) => `FAILED: ${(e as Error).message}`);
            if (outcome !== 'ok') failed++;
            results.push([name, outcome, `${(performance.now() - t0).toFixed(0)} ms`]);
          }
          process.stdout.write('\nFunctional checks\n');
          printRows(['check', 'result', 'time'], results);
        }
        if (failed === 0) {
          process.stdout.write(`\nThroughput (${flags.threads} in flight)\n`);
          printSummary(await throughput(store, flags));
        }
      } finally {
        await cleanUp(store).catch(() => undefined);
        await store.close();
      }
      if (failed > 0) throw new Error(`${failed} functional check${failed === 1 ? '' : 's'} failed; throughput was not measured`);
    });
}
