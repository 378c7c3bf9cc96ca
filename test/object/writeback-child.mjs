// Child process for writeback.test.ts: writes files through a write-back volume whose store is
// down, reports each one once its metadata is committed, then waits to be killed.
// Protocol (stdout lines): READY (then it waits for a line on stdin), COMMITTED <path> <sha256>
// per file, then DONE.
// Usage: node writeback-child.mjs META_URL CACHE_DIR COUNT
import { createHash, randomBytes } from 'node:crypto';

const { Volume } = await import(new URL('../../dist/src/index.js', import.meta.url).href);
const [metaUrl, cacheDir, count] = process.argv.slice(2);
setTimeout(() => process.exit(3), 60_000).unref();

const vol = await Volume.open(metaUrl, { writeback: true, cacheDir, ioRetries: 0, reclaimMs: 60_000 });
// The parent takes the store down, then says go.
process.stdout.write('READY\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
for (let i = 0; i < Number(count); i++) {
  const data = randomBytes(i === 0 ? 300 * 1024 + 17 : 5000 + i);
  await vol.writeFile(`/f${i}`, data);
  process.stdout.write(`COMMITTED /f${i} ${createHash('sha256').update(data).digest('hex')}\n`);
}
process.stdout.write('DONE\n');
setInterval(() => undefined, 1000);
