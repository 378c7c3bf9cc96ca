// Latency histograms as plain data, for what reads them outside Prometheus: the mount's `.stats`
// and `strata stats`, which shows percentiles of the interval between two samples.
import { LATENCY_BUCKETS } from './registry.js';

export interface HistogramData {
  count: number;
  /** Seconds in all. */
  sum: number;
  /** Cumulative counts at each of LATENCY_BUCKETS' upper bounds (the last bucket, +Inf, is count). */
  buckets: number[];
}

const empty = (): HistogramData => ({ count: 0, sum: 0, buckets: LATENCY_BUCKETS.map(() => 0) });

/** What a histogram gives the registry (prom-client's Histogram, or fast.ts's). */
export interface HistogramSource {
  get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }>;
}

/** The series of `metric` whose labels include `match`, summed by the labels in `by` (joined
 * with ' ' as the key; '' when `by` is empty). */
export async function histogramsOf(metric: HistogramSource, match: Record<string, string>, by: readonly string[]): Promise<Record<string, HistogramData>> {
  const out: Record<string, HistogramData> = {};
  const bound = new Map(LATENCY_BUCKETS.map((b, i) => [b, i]));
  for (const v of (await metric.get()).values) {
    const labels = v.labels as Record<string, string | number>;
    if (Object.entries(match).some(([k, want]) => labels[k] !== want)) continue;
    const key = by.map((k) => String(labels[k] ?? '')).join(' ');
    const h = (out[key] ??= empty());
    const name = v.metricName ?? '';
    if (name.endsWith('_count')) h.count += v.value;
    else if (name.endsWith('_sum')) h.sum += v.value;
    else if (name.endsWith('_bucket')) {
      const i = bound.get(Number(labels.le));
      if (i !== undefined) h.buckets[i] += v.value;
    }
  }
  return out;
}

/** What happened between two readings of one histogram (`before` may be absent: all of `after`). */
export function since(after: HistogramData, before: HistogramData | undefined): HistogramData {
  if (!before) return after;
  return { count: after.count - before.count, sum: after.sum - before.sum, buckets: after.buckets.map((n, i) => n - (before.buckets[i] ?? 0)) };
}

export function merged(list: readonly HistogramData[]): HistogramData {
  const out = empty();
  for (const h of list) {
    out.count += h.count;
    out.sum += h.sum;
    h.buckets.forEach((n, i) => { out.buckets[i] += n; });
  }
  return out;
}

/**
 * The q-quantile in seconds, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does; NaN without observations. Past the last finite bound it answers that
 * bound (the true value is only known to be larger).
 */
export function quantile(h: HistogramData, q: number): number {
  if (h.count <= 0) return Number.NaN;
  const rank = q * h.count;
  for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
    if (h.buckets[i] >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1];
      const below = i === 0 ? 0 : h.buckets[i - 1];
      const inBucket = h.buckets[i] - below;
      return inBucket <= 0 ? LATENCY_BUCKETS[i] : lower + (LATENCY_BUCKETS[i] - lower) * ((rank - below) / inBucket);
    }
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1];
}
