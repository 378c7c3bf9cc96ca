// The mount keeps its event loop awake for a short window after each request (busy-poll.ts), and
// only then: an idle mount must go back to sleep, and unmounting must end the window at once, or
// the process would burn a core (or never exit).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BusyPoll } from '../../src/fuse/busy-poll.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BusyPoll', () => {
  it('keeps the loop turning while requests come, and stops once none came for a window', async () => {
    const busy = new BusyPoll(2000);
    busy.touch();
    expect(busy.spinning).toBe(true);
    busy.touch();
    expect(busy.spinning).toBe(true);
    // Once no touch came for a window, a turn or two later it has stopped.
    const deadline = Date.now() + 5000;
    while (busy.spinning && Date.now() < deadline) await sleep(5);
    expect(busy.spinning).toBe(false);
  });

  it('starves nothing while it spins: timers and file-system callbacks still run', async () => {
    const busy = new BusyPoll(10_000);
    const keepUp = setInterval(() => busy.touch(), 2);
    try {
      busy.touch();
      await sleep(1);
      await readFile(fileURLToPath(import.meta.url));
      expect(busy.spinning).toBe(true);
    } finally {
      clearInterval(keepUp);
      busy.stop();
    }
  });

  it('a window of 0 never spins, and stop() ends a window at its next turn', async () => {
    const off = new BusyPoll(0);
    off.touch();
    expect(off.spinning).toBe(false);
    const busy = new BusyPoll(10_000);
    busy.touch();
    busy.stop();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(busy.spinning).toBe(false);
    busy.touch();
    expect(busy.spinning).toBe(false);
  });

  it('refuses a window that is not a number of microseconds', () => {
    expect(() => new BusyPoll(-1)).toThrow(RangeError);
    expect(() => new BusyPoll(10_001)).toThrow(/0 to 10000 microseconds/);
    expect(() => new BusyPoll(Number.NaN)).toThrow(/microseconds/);
  });
});
