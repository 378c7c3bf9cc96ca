// Round trips per SDK operation to a metadata server: what a host far from its PostgreSQL or
// MySQL server waits for. Each operation runs through a TCP proxy that holds every chunk DELAY_MS
// in each direction, so its time divided by the round trip's (2 x DELAY_MS) counts the round
// trips it waits for in a row; statements sent together count once. Part of bench/meta.
import { startDelayProxy } from './delay-proxy.js';
import { Volume } from '../src/index.js';

const DELAY_MS = 5;
const ROUNDS = 20;

type Step = (vol: Volume, i: number) => Promise<unknown>;

/** In order: each step works on what the ones before it left. */
const STEPS: [string, Step][] = [
  ['create (open wx, close)', async (vol, i) => (await vol.open(`/d/c${i}`, 'wx')).close()],
  ['writeFile 4 KiB (new file)', (vol, i) => vol.writeFile(`/d/w${i}`, Buffer.alloc(4096, 1))],
  ['stat', (vol, i) => vol.stat(`/d/c${i}`)],
  ['readFile 4 KiB', (vol, i) => vol.readFile(`/d/w${i}`)],
  ['rename, same directory', (vol, i) => vol.rename(`/d/c${i}`, `/d/r${i}`)],
  ['rename, other directory', (vol, i) => vol.rename(`/d/r${i}`, `/e/r${i}`)],
  ['rename over a file (to the trash)', (vol, i) => vol.rename(`/e/r${i}`, `/d/w${i}`)],
  ['unlink (to the trash)', (vol, i) => vol.unlink(`/d/w${i}`)],
  ['mkdir', (vol, i) => vol.mkdir(`/d/m${i}`)],
  ['rmdir', (vol, i) => vol.rmdir(`/d/m${i}`)],
];

export const ROUND_TRIP_STEPS = STEPS.map(([name]) => name);

/** Round trips of each step on the volume at `url` (a server on `port`, formatted with the
 * default trash), by the mean time of ROUNDS runs. */
export async function roundTrips(url: string, port: number): Promise<Record<string, number>> {
  const link = await startDelayProxy({ targetPort: port, delayMs: DELAY_MS });
  const vol = await Volume.open(url.replace(`:${port}/`, `:${link.port}/`), { client: 'bench-round-trips' });
  try {
    await vol.mkdir('/d');
    await vol.mkdir('/e');
    // The pool's connections opened before timing (each is several round trips to open).
    await Promise.all(Array.from({ length: 8 }, () => vol.stat('/d')));
    const out: Record<string, number> = {};
    for (const [name, step] of STEPS) {
      const t = performance.now();
      for (let i = 0; i < ROUNDS; i++) await step(vol, i);
      out[name] = (performance.now() - t) / ROUNDS / (2 * DELAY_MS);
    }
    return out;
  } finally {
    await vol.close();
    await link.stop();
  }
}
