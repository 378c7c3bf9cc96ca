// Latency of every Meta call, by call and engine (strata_meta_call_seconds): one wrapper around
// whichever engine a volume opened, so no engine or caller times itself.
import { counter, latencyHistogram, observer, incrementer, recording, type Incrementer, type Observer } from '../metrics/registry.js';

export const metaLatency = latencyHistogram('strata_meta_call_seconds', 'Metadata calls from start to answer, by call and engine', ['volume', 'engine', 'call']);
const failures = counter('strata_meta_call_errors_total', 'Metadata calls that failed (any error, ENOENT of a lookup included)', ['volume', 'engine', 'call']);

/** `meta`, with every call that answers later (a promise) timed. Synchronous calls pass through. */
export function measuredMeta<T extends object>(meta: T, volume: string, engine: string): T {
  if (!recording) return meta;
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(meta, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'constructor' || typeof prop === 'symbol') return value;
      let w = wrapped.get(prop);
      if (w === undefined) {
        w = timed(target, value as (...args: unknown[]) => unknown,
          observer(metaLatency, { volume, engine, call: prop }), incrementer(failures, { volume, engine, call: prop }));
        wrapped.set(prop, w);
      }
      return w;
    },
  });
}

function timed(target: object, fn: (...args: unknown[]) => unknown, latency: Observer, failed: Incrementer) {
  return (...args: unknown[]): unknown => {
    const started = performance.now();
    const result = fn.apply(target, args);
    if (!(result instanceof Promise)) return result;
    return result.then(
      (v: unknown) => { latency.observe((performance.now() - started) / 1000); return v; },
      (err: unknown) => { latency.observe((performance.now() - started) / 1000); failed.inc(); throw err; },
    );
  };
}
