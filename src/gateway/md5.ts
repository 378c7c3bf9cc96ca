// MD5 for ETags. It is the slowest step of an upload (about half a gigabyte a second, slower than
// the volume takes the bytes), so large bodies are hashed on a worker thread, beside the socket
// reads and volume writes instead of in line with them; small ones stay on the main thread, where
// a round trip would cost more than the hash.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface Md5 {
  /** Hash the next bytes, in order. The buffers may be handed to the worker: do not use them
   * afterwards. */
  update(data: Buffer[]): void;
  digest(): Promise<Buffer>;
  /** Forget a hash that will not be finished (a failed upload). */
  abandon(): void;
}

/** Bodies at least this long are hashed off the main thread. */
export const OFFLOAD_MIN = 4 * 1024 * 1024;

// Source for an eval'd worker: no separate file to locate in source and compiled trees. It is
// read as CommonJS or, when the process runs with --input-type=module or
// --experimental-default-type=module (inherited), as a module: dynamic import() works in both.
const WORKER = `
(async () => {
const { parentPort } = await import('node:worker_threads');
const { createHash } = await import('node:crypto');
const open = new Map();
parentPort.on('message', (m) => {
  if (m.drop) { open.delete(m.id); return; }
  let h = open.get(m.id);
  if (!h) { h = createHash('md5'); open.set(m.id, h); }
  if (m.parts) for (const p of m.parts) h.update(new Uint8Array(p.buffer ?? p, p.byteOffset ?? 0, p.byteLength));
  if (m.end) { open.delete(m.id); parentPort.postMessage({ id: m.id, digest: h.digest() }); }
});
})();
`;

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (d: Buffer) => void; reject: (e: Error) => void }>();

function failAll(err: Error): void {
  worker = null;
  for (const w of waiting.values()) w.reject(err);
  waiting.clear();
}

function shared(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true });
  w.on('message', (m: { id: number; digest: Uint8Array }) => {
    const p = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    p?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength));
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', (code) => failAll(new Error(`the MD5 worker exited (code ${code})`)));
  // Idle, it must not keep the process alive; busy, its pending digests do (see digest()). After
  // the listeners: adding a 'message' listener refs the worker again.
  w.unref();
  worker = w;
  return w;
}

export function inlineMd5(): Md5 {
  const h = createHash('md5');
  return {
    update: (data) => { for (const d of data) h.update(d); },
    digest: async () => h.digest(),
    abandon: () => undefined,
  };
}

export function offloadedMd5(): Md5 {
  const w = shared();
  const id = nextId++;
  return {
    update(data) {
      // A buffer with an ArrayBuffer of its own moves to the worker (socket reads are such
      // buffers); a view into a larger one is copied. One message per batch.
      const parts: (ArrayBuffer | Uint8Array)[] = [];
      const moved = new Set<ArrayBuffer>();
      for (const d of data) {
        const ab = d.buffer;
        const own = ab instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === ab.byteLength && !moved.has(ab);
        if (own) moved.add(ab);
        parts.push(own ? ab : new Uint8Array(d));
      }
      w.postMessage({ id, parts }, [...moved]);
    },
    digest() {
      return new Promise<Buffer>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, end: true });
      });
    },
    abandon() {
      w.postMessage({ id, drop: true });
    },
  };
}

export function md5For(declaredLength: number | null): Md5 {
  return declaredLength !== null && declaredLength >= OFFLOAD_MIN ? offloadedMd5() : inlineMd5();
}
