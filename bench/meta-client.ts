// One client of bench/meta, in a process of its own (as a host would be): it opens the volume and
// runs each phase it is told on stdin over its own files in its own directory, answering one
// JSON line per phase with the milliseconds it took.
// argv: META_URL DIR COUNT
import { createInterface } from 'node:readline';
import { Volume } from '../src/index.js';

const [url, dir, countText] = process.argv.slice(2);
const count = Number(countText);
const vol = await Volume.open(url!, { client: 'bench-meta', skipTrash: true });
const name = (i: number, prefix = 'f') => `${dir}/${prefix}${i}`;
/** Each operation's milliseconds in the running phase: its slowest ones are what a user waits on. */
let took: number[] = [];
async function each(fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  took.push(performance.now() - t);
}

const phases: Record<string, () => Promise<number>> = {
  async mkdir() {
    await vol.mkdir(dir!, { recursive: true });
    return 0;
  },
  async create() {
    for (let i = 0; i < count; i++) await each(async () => (await vol.open(name(i), 'wx')).close());
    return count;
  },
  async stat() {
    for (let i = 0; i < count; i++) await each(() => vol.stat(name(i)));
    return count;
  },
  async readdir() {
    // The whole directory, three times: entries listed.
    let n = 0;
    for (let k = 0; k < 3; k++) n += (await vol.readdir(dir!)).length;
    return n;
  },
  async rename() {
    for (let i = 0; i < count; i++) await each(() => vol.rename(name(i), name(i, 'g')));
    return count;
  },
  async unlink() {
    for (let i = 0; i < count; i++) await each(() => vol.unlink(name(i, 'g')));
    return count;
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  const phase = line.trim();
  if (phase === 'exit') break;
  took = [];
  const t = performance.now();
  const ops = await phases[phase]!();
  const ms = performance.now() - t;
  took.sort((a, b) => a - b);
  // Phases not timed operation by operation (readdir) have no slowest operation.
  const p999 = took.length ? took[Math.min(took.length - 1, Math.floor(took.length * 0.999))]! : null;
  process.stdout.write(`${JSON.stringify({ phase, ops, ms, p999, max: took.at(-1) ?? null })}\n`);
}
await vol.close();
