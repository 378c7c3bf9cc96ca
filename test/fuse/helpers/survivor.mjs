// An SDK client in a process of its own (another host of the volume): it reads a file, then keeps
// its session alive and does the housekeeping every client does, with a short stale timeout, until
// the session named on the command line is gone. Prints one JSON line per step.
// argv: META_URL PATH DEAD_SESSION
import { createHash } from 'node:crypto';
import { Volume } from '../../../dist/src/index.js';

const [url, path, dead] = process.argv.slice(2);
const vol = await Volume.open(url, { client: 'survivor', heartbeatMs: 300, staleSessionMs: 3000, housekeepingMs: 300 });
const data = await vol.readFile(path);
console.log(JSON.stringify({ read: data.length, sha: createHash('sha256').update(data).digest('hex') }));
const started = Date.now();
for (;;) {
  const sessions = (await vol.vfs.meta.sessions()).map((s) => s.id);
  if (!sessions.includes(Number(dead))) break;
  if (Date.now() - started > 30_000) {
    console.log(JSON.stringify({ error: `session ${dead} still there after 30 s: ${sessions}` }));
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
console.log(JSON.stringify({ cleaned: dead, afterMs: Date.now() - started }));
await vol.close();
