// The percentiles `strata stats` shows come from histogram buckets, interpolated as Prometheus's
// histogram_quantile does. Checked against the exact quantile of random latencies: the answer is
// always inside the bucket that holds the true value. Also the sampled metrics' bookkeeping.
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramsOf, merged, quantile, since } from '../../src/metrics/histogram-data.js';
import { LATENCY_BUCKETS, registry, Sampled } from '../../src/metrics/registry.js';

/** The bucket bounds around `v`: (lower, upper]. */
function bucketAround(v: number): [number, number] {
  const i = LATENCY_BUCKETS.findIndex((b) => v <= b);
  if (i < 0) return [LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1], LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]];
  return [i === 0 ? 0 : LATENCY_BUCKETS[i - 1], LATENCY_BUCKETS[i]];
}

describe('histogram percentiles', () => {
  it('lie in the bucket of the exact quantile, for any set of latencies', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.double({ min: 1e-6, max: 20, noNaN: true }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(0.5, 0.95, 0.99),
      async (latencies, q) => {
        const reg = new Registry();
        const h = new Histogram({ name: `t${n++}_seconds`, help: 't', labelNames: ['volume', 'op'], buckets: LATENCY_BUCKETS, registers: [reg] });
        for (const v of latencies) h.observe({ volume: 'v', op: 'x' }, v);
        const data = (await histogramsOf(h as Histogram<string>, { volume: 'v' }, ['op'])).x;
        expect(data.count).toBe(latencies.length);
        expect(data.sum).toBeCloseTo(latencies.reduce((a, b) => a + b, 0), 6);
        const sorted = [...latencies].sort((a, b) => a - b);
        const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
        const [lo, hi] = bucketAround(exact);
        const got = quantile(data, q);
        expect(got).toBeGreaterThanOrEqual(lo);
        expect(got).toBeLessThanOrEqual(hi);
      },
    ), { numRuns: 200 });
  });

  it('of an interval come from the difference of two readings; series merge by adding', async () => {
    const reg = new Registry();
    const h = new Histogram({ name: 'interval_seconds', help: 't', labelNames: ['volume', 'op'], buckets: LATENCY_BUCKETS, registers: [reg] });
    for (let i = 0; i < 100; i++) h.observe({ volume: 'v', op: 'a' }, 0.001);
    const first = (await histogramsOf(h as Histogram<string>, { volume: 'v' }, ['op'])).a;
    for (let i = 0; i < 100; i++) h.observe({ volume: 'v', op: 'a' }, 2);
    h.observe({ volume: 'other', op: 'a' }, 5);
    const second = (await histogramsOf(h as Histogram<string>, { volume: 'v' }, ['op'])).a;
    const delta = since(second, first);
    expect(delta.count).toBe(100);
    expect(quantile(delta, 0.5)).toBeGreaterThan(1);
    expect(quantile(first, 0.99)).toBeLessThanOrEqual(0.001);
    expect(quantile(merged([first, delta]), 0.5)).toBeLessThanOrEqual(0.001 + 1e-12);
    expect(Number.isNaN(quantile(since(second, second), 0.5))).toBe(true);
  });
});

describe('sampled metrics', () => {
  it('add sources with the same labels, or take the largest; a removed source is gone', async () => {
    const summed = new Sampled('gauge', 'test_sampled_sum', 'test', ['volume']);
    const maxed = new Sampled('gauge', 'test_sampled_max', 'test', ['volume'], 'max');
    const stops = [summed.add({ volume: 'a' }, () => 2), summed.add({ volume: 'a' }, async () => 3), summed.add({ volume: 'b' }, () => 7),
      maxed.add({ volume: 'a' }, () => 2), maxed.add({ volume: 'a' }, () => 3)];
    // A source that fails to read is left out, not reported as 0.
    const failing = summed.add({ volume: 'c' }, async () => { throw new Error('gone'); });
    const read = async (name: string) => Object.fromEntries((await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels.volume, v.value]));
    expect(await read('test_sampled_sum')).toEqual({ a: 5, b: 7 });
    expect(await read('test_sampled_max')).toEqual({ a: 3 });
    // A second Sampled of the same name shares the first's sources (one metric per process).
    const again = new Sampled('gauge', 'test_sampled_sum', 'test', ['volume']);
    const stopAgain = again.add({ volume: 'b' }, () => 1);
    expect(await read('test_sampled_sum')).toEqual({ a: 5, b: 8 });
    for (const stop of [...stops, failing, stopAgain]) stop();
    expect(await read('test_sampled_sum')).toEqual({});
  });

  it('never let a counter go down when one of its sources closes; a source that throws is left out', async () => {
    const total = new Sampled('counter', 'test_sampled_total', 'test', ['volume']);
    let a = 100;
    const stopA = total.add({ volume: 'v' }, () => a);
    const stopB = total.add({ volume: 'v' }, () => 50);
    const throwing = total.add({ volume: 'v' }, () => { throw new Error('closed'); });
    const read = async () => (await registry.getSingleMetric('test_sampled_total')!.get()).values.find((v) => v.labels.volume === 'v')?.value;
    expect(await read()).toBe(150);
    a = 120;
    stopA();
    expect(await read()).toBe(170);
    stopB();
    throwing();
    expect(await read()).toBe(170);
  });
});
