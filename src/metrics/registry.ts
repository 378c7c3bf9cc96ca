// The process's one Prometheus registry. Each layer registers its own metrics here (by name, once
// per process: several volumes of one process share a metric and differ by the `volume` label),
// and the /metrics endpoint, the mount's `.stats` and `strata stats` all read it.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/**
 * Latency buckets, seconds: 10 µs (an answer from memory) to 10 s (an object GET that retried),
 * about three per decade. Histograms rather than summaries: observing one is a bucket scan and an
 * addition, where a summary updates a t-digest; and buckets add up across processes and hosts
 * (`histogram_quantile` over the sum), where per-process quantiles cannot be combined.
 */
export const LATENCY_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** STRATA_METRICS=off: latencies and per-request counts are not recorded (for measuring what
 * recording them costs); values sampled at scrape time still are. */
export const recording = process.env.STRATA_METRICS !== 'off';

/** What layers observe into: a histogram's child for fixed labels, or nothing when not recording. */
export interface Observer {
  observe(seconds: number): void;
}
export interface Incrementer {
  inc(n?: number): void;
}
const NOTHING: Observer & Incrementer = { observe() {}, inc() {} };
/** An Incrementer that counts nothing (before labels are known). */
export const NO_COUNT: Incrementer = NOTHING;

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** A latency histogram, in seconds, with LATENCY_BUCKETS. */
export function latencyHistogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
  return existing<Histogram<L>>(name) ?? new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [registry] });
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return existing<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers: [registry] });
}

/** The child of `metric` for `labels`, bound once so the request path does no label lookup. */
export function observer<L extends string>(metric: Histogram<L>, labels: Record<L, string>): Observer {
  return recording ? metric.labels(labels) : NOTHING;
}
export function incrementer<L extends string>(metric: Counter<L>, labels: Record<L, string>): Incrementer {
  return recording ? metric.labels(labels) : NOTHING;
}

/** Seconds since `startMs` (a performance.now() reading). */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

type Sample<L extends string> = { labels: Record<L, string>; read: () => number | Promise<number> };

/**
 * A value that already exists somewhere (a store's counters, a cache's size) read when scraped:
 * nothing is added to the request path. Each source is added with its labels and removed when
 * its owner closes; sources with the same labels add up (a gateway's two clients of one volume),
 * or, with `combine` 'max', count once (a value both read from the volume's metadata).
 * `kind` 'counter' for totals that only grow, 'gauge' for levels.
 */
export class Sampled<L extends string> {
  readonly #sources: Set<Sample<L>>;

  constructor(kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly L[], combine: 'sum' | 'max' = 'sum') {
    const found = existing<Counter<L> | Gauge<L>>(name);
    if (found) {
      // One process, one metric: a second Sampled of the same name shares the first's sources.
      const shared = (found as unknown as { [SHARED]?: Set<Sample<L>> })[SHARED];
      if (!shared) throw new Error(`metric ${name} is registered already and is not sampled`);
      this.#sources = shared;
      return;
    }
    const sources = new Set<Sample<L>>();
    this.#sources = sources;
    const collect = async function (this: Counter<L> | Gauge<L>) {
      const totals = new Map<string, { labels: Record<L, string>; value: number }>();
      await Promise.all([...sources].map(async (s) => {
        const v = await Promise.resolve(s.read()).catch(() => NaN);
        if (!Number.isFinite(v)) return;
        const id = JSON.stringify(s.labels);
        const t = totals.get(id);
        if (t) t.value = combine === 'sum' ? t.value + v : Math.max(t.value, v);
        else totals.set(id, { labels: s.labels, value: v });
      }));
      this.reset();
      for (const { labels, value } of totals.values()) {
        if (kind === 'counter') (this as Counter<L>).inc(labels, value);
        else (this as Gauge<L>).set(labels, value);
      }
    };
    const metric = kind === 'counter'
      ? new Counter<L>({ name, help, labelNames, registers: [registry], collect })
      : new Gauge<L>({ name, help, labelNames, registers: [registry], collect });
    (metric as unknown as { [SHARED]?: Set<Sample<L>> })[SHARED] = sources;
  }

  /** Report `read()` under `labels` from now on; the returned function stops it. */
  add(labels: Record<L, string>, read: () => number | Promise<number>): () => void {
    const sample = { labels, read };
    this.#sources.add(sample);
    return () => { this.#sources.delete(sample); };
  }
}
const SHARED = Symbol('sampled sources');
