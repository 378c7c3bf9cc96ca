// The Meta wrapper times every call that answers later, by call and engine, and counts failures;
// the engine underneath (private fields, getters, synchronous calls) works as before.
import { describe, expect, it } from 'vitest';
import { measuredMeta } from '../../src/meta/metrics.js';
import { registry } from '../../src/metrics/registry.js';

class Engine {
  readonly #rows = new Map<string, number>([['a', 1]]);
  get size(): number {
    return this.#rows.size;
  }
  async lookup(name: string): Promise<number> {
    const v = this.#rows.get(name);
    if (v === undefined) throw Object.assign(new Error(`${name}: absent`), { code: 'ENOENT' });
    return v;
  }
  peek(name: string): number | undefined {
    return this.#rows.get(name);
  }
}

async function series(name: string, call: string): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values as { labels: Record<string, string>; value: number; metricName?: string }[];
  return values.filter((v) => v.labels.volume === 'wrapped' && v.labels.call === call && (v.metricName ?? name).endsWith(name.endsWith('_total') ? '_total' : '_count'))
    .reduce((n, v) => n + v.value, 0);
}

describe('measuredMeta', () => {
  it('times async calls by call and engine, counts the failed ones, and passes the rest through', async () => {
    const meta = measuredMeta(new Engine(), 'wrapped', 'testdb');
    expect(await meta.lookup('a')).toBe(1);
    await expect(meta.lookup('b')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(meta.peek('a')).toBe(1);
    expect(meta.size).toBe(1);
    expect(await series('strata_meta_call_seconds', 'lookup')).toBe(2);
    expect(await series('strata_meta_call_errors_total', 'lookup')).toBe(1);
    // Synchronous calls are not latencies worth a histogram.
    expect(await series('strata_meta_call_seconds', 'peek')).toBe(0);
  });
});
