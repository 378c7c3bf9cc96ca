// Latency of object-store requests, by op and backend (strata_object_request_seconds), measured
// around the store a volume opened: what the data path waits for, retries included.
import { counter, incrementer, latencyHistogram, observer, recording, type Incrementer, type Observer } from '../metrics/registry.js';
import type { ByteRange, GetIntoOptions, ListOptions, ListPage, ObjectInfo, ObjectStore } from './store.js';

export const objectLatency = latencyHistogram('strata_object_request_seconds', 'Object-store requests from start to answer (retries included), by op and backend', ['volume', 'store', 'backend', 'op']);
const failures = counter('strata_object_request_errors_total', 'Object-store requests that failed after their retries (a mirror\'s miss in its own store included)', ['volume', 'store', 'backend', 'op']);
const bytes = counter('strata_object_bytes_total', 'Bytes moved to and from the object store, by direction', ['volume', 'store', 'backend', 'direction']);

type Op = 'get' | 'put' | 'delete' | 'head' | 'list';

export class MeasuredObjectStore implements ObjectStore {
  readonly #time: Record<Op, Observer>;
  readonly #failed: Record<Op, Incrementer>;
  readonly #in: Incrementer;
  readonly #out: Incrementer;

  constructor(private readonly inner: ObjectStore, volume: string, store: string, backend: string) {
    const ops: Op[] = ['get', 'put', 'delete', 'head', 'list'];
    this.#time = Object.fromEntries(ops.map((op) => [op, observer(objectLatency, { volume, store, backend, op })])) as Record<Op, Observer>;
    this.#failed = Object.fromEntries(ops.map((op) => [op, incrementer(failures, { volume, store, backend, op })])) as Record<Op, Incrementer>;
    this.#in = incrementer(bytes, { volume, store, backend, direction: 'download' });
    this.#out = incrementer(bytes, { volume, store, backend, direction: 'upload' });
  }

  /** `inner` measured, or `inner` itself when metrics are not recorded. */
  static wrap(inner: ObjectStore, volume: string, store: string): ObjectStore {
    if (!recording) return inner;
    const scheme = inner.describe().split(':')[0];
    return new MeasuredObjectStore(inner, volume, store, scheme === 'http' || scheme === 'https' ? 's3' : scheme || 'unknown');
  }

  async #measure<T>(op: Op, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } catch (err) {
      this.#failed[op].inc();
      throw err;
    } finally {
      this.#time[op].observe((performance.now() - started) / 1000);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const got = await this.#measure('get', () => this.inner.get(key, range));
    this.#in.inc(got.byteLength);
    return got;
  }

  async getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    const n = await this.#measure('get', () => this.inner.getInto(key, offset, target, options));
    this.#in.inc(n);
    return n;
  }

  async put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    await this.#measure('put', () => this.inner.put(key, data));
    this.#out.inc(Array.isArray(data) ? data.reduce((n, p) => n + p.byteLength, 0) : data.byteLength);
  }

  delete(key: string): Promise<void> {
    return this.#measure('delete', () => this.inner.delete(key));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.#measure('head', () => this.inner.head(key));
  }

  list(options?: ListOptions): Promise<ListPage> {
    return this.#measure('list', () => this.inner.list(options));
  }

  describe(): string {
    return this.inner.describe();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
