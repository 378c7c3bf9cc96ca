// The request path's histogram and counter (fast.ts) must expose exactly what prom-client's own
// Histogram and Counter expose for the same observations: prom-client is the reference.
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../src/metrics/fast.js';
import { LATENCY_BUCKETS } from '../../src/metrics/registry.js';

const observation = fc.record({
  op: fc.constantFrom('lookup', 'getattr', 'write'),
  volume: fc.constantFrom('a', 'b'),
  seconds: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...LATENCY_BUCKETS)),
});

describe('fast metrics', () => {
  it('expose the same text as prom-client for any observations', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(observation, { maxLength: 200 }), async (obs) => {
      const name = `same_${n++}`;
      const ours = new Registry();
      const theirs = new Registry();
      const fast = new FastHistogram(`${name}_seconds`, 'h', ['volume', 'op'], LATENCY_BUCKETS);
      ours.registerMetric(fast as unknown as Histogram);
      const ref = new Histogram({ name: `${name}_seconds`, help: 'h', labelNames: ['volume', 'op'], buckets: LATENCY_BUCKETS, registers: [theirs] });
      const fastCount = new FastCounter(`${name}_total`, 'c', ['volume', 'op']);
      ours.registerMetric(fastCount as unknown as Counter);
      const refCount = new Counter({ name: `${name}_total`, help: 'c', labelNames: ['volume', 'op'], registers: [theirs] });
      for (const o of obs) {
        fast.labels({ volume: o.volume, op: o.op }).observe(o.seconds);
        ref.observe({ volume: o.volume, op: o.op }, o.seconds);
        fastCount.inc({ volume: o.volume, op: o.op }, 2);
        refCount.inc({ volume: o.volume, op: o.op }, 2);
      }
      // prom-client prints a histogram's labels with le first; order inside {} is not meaning.
      const norm = (text: string) => text.split('\n').map((line) => line.replace(/\{([^}]*)\}/, (_m, inner: string) => `{${inner.split(',').sort().join(',')}}`)).sort().join('\n');
      expect(norm(await ours.metrics())).toBe(norm(await theirs.metrics()));
    }), { numRuns: 100 });
  });

  it('refuse a label the metric does not have', () => {
    const h = new FastHistogram('refuse_seconds', 'h', ['op'], LATENCY_BUCKETS);
    expect(() => h.labels({ op: 'x', volume: 'v' } as { op: string })).toThrow(/label volume is not one of op/);
  });
});
