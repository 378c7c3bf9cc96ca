// The mount keeps its event loop awake for a short window after each request (busy-poll.ts), and
// only then: an idle mount must go back to sleep, and unmounting must end the window at once, or
// the process would burn a core (or never exit).
import { describe, expect, it } from 'vitest';
import { BusyPoll } from '../../src/fuse/busy-poll.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BusyPoll', () => {
  it('keeps the loop turning while requests come, and stops once none came for a window', async () => {
    const busy = new BusyPoll(2000);
    busy.touch();
    expect(busy.spinning).toBe(true);
    // Immediates keep running meanwhile: other work of the loop is not starved.
    let turns = 0;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(() => { turns++; r(undefined); }));
    expect(turns).toBe(5);
    busy.touch();
    expect(busy.spinning).toBe(true);
    await sleep(50);
    expect(busy.spinning).toBe(false);
  });

  it('a window of 0 never spins, and stop() ends a window at its next turn', async () => {
    const off = new BusyPoll(0);
    off.touch();
    expect(off.spinning).toBe(false);
    const busy = new BusyPoll(10_000_000);
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
    expect(() => new BusyPoll(Number.NaN)).toThrow(/microseconds/);
  });
});
