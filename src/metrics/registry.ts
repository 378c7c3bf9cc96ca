// The process's one Prometheus registry. Each layer registers its own metrics here (by name, once
// per process: several volumes of one process share a metric and differ by the `volume` label),
// and the /metrics endpoint, the mount's `.stats` and `strata stats` all read it.
import { Counter, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram, type Incrementer, type Observer } from './fast.js';

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

export type { Incrementer, Observer };
const NOTHING: Observer & Incrementer = { observe() {}, inc() {} };
/** An Incrementer that counts nothing (before labels are known). */
export const NO_COUNT: Incrementer = NOTHING;

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

function register<M extends { name: string }>(metric: M): M {
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return metric;
}

/** A latency histogram, in seconds, with LATENCY_BUCKETS, for the request path (fast.ts). */
export function latencyHistogram<L extends string>(name: string, help: string, labelNames: readonly L[]): FastHistogram<L> {
  return existing<FastHistogram<L>>(name) ?? register(new FastHistogram<L>(name, help, labelNames, LATENCY_BUCKETS));
}

/** A counter for the request path (fast.ts). */
export function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): FastCounter<L> {
  return existing<FastCounter<L>>(name) ?? register(new FastCounter<L>(name, help, labelNames));
}

/** The child of `metric` for `labels`, bound once so the request path does no label lookup. */
export function observer<L extends string>(metric: FastHistogram<L>, labels: Record<L, string>): Observer {
  return recording ? metric.labels(labels) : NOTHING;
}
export function incrementer<L extends string>(metric: FastCounter<L>, labels: Record<L, string>): Incrementer {
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
  /** A counter's totals from sources that went (a closed volume's reads): a counter never goes down. */
  readonly #retired: Map<string, { labels: Record<L, string>; value: number }>;
  readonly #kind: 'counter' | 'gauge';

  constructor(kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly L[], combine: 'sum' | 'max' = 'sum') {
    const found = existing<Counter<L> | Gauge<L>>(name);
    if (found) {
      // One process, one metric: a second Sampled of the same name shares the first's sources.
      const shared = (found as unknown as { [SHARED]?: Shared<L> })[SHARED];
      if (!shared) throw new Error(`metric ${name} is registered already and is not sampled`);
      this.#sources = shared.sources;
      this.#retired = shared.retired;
      this.#kind = shared.kind;
      return;
    }
    const sources = new Set<Sample<L>>();
    this.#sources = sources;
    this.#retired = new Map();
    const retired = this.#retired;
    const collect = async function (this: Counter<L> | Gauge<L>) {
      const totals = new Map<string, { labels: Record<L, string>; value: number }>();
      await Promise.all([...sources].map(async (s) => {
        const v = await new Promise<number>((resolve) => resolve(s.read())).catch(() => NaN);
        if (!Number.isFinite(v)) return;
        const id = JSON.stringify(s.labels);
        const t = totals.get(id);
        if (t) t.value = combine === 'sum' ? t.value + v : Math.max(t.value, v);
        else totals.set(id, { labels: s.labels, value: v });
      }));
      for (const [id, r] of retired) {
        const t = totals.get(id);
        if (t) t.value += r.value;
        else totals.set(id, { ...r });
      }
      this.reset();
      for (const { labels, value } of totals.values()) {
        if (kind === 'counter') (this as Counter<L>).inc(labels, value);
        else (this as Gauge<L>).set(labels, value);
      }
    };
    const metric = kind === 'counter'
      ? new Counter<L>({ name, help, labelNames, registers: [registry], collect })
      : new Gauge<L>({ name, help, labelNames, registers: [registry], collect });
    (metric as unknown as { [SHARED]?: Shared<L> })[SHARED] = { sources, retired, kind };
    this.#kind = kind;
  }

  /** Report `read()` under `labels` from now on; the returned function stops it. */
  add(labels: Record<L, string>, read: () => number | Promise<number>): () => void {
    const sample = { labels, read };
    this.#sources.add(sample);
    return () => {
      if (!this.#sources.delete(sample) || this.#kind !== 'counter') return;
      let last: unknown;
      try {
        last = read();
      } catch {
        return;
      }
      if (typeof last !== 'number' || !Number.isFinite(last)) return;
      const id = JSON.stringify(labels);
      const r = this.#retired.get(id);
      if (r) r.value += last;
      else this.#retired.set(id, { labels, value: last });
    };
  }
}
const SHARED = Symbol('sampled sources');
interface Shared<L extends string> {
  sources: Set<Sample<L>>;
  retired: Map<string, { labels: Record<L, string>; value: number }>;
  kind: 'counter' | 'gauge';
}
