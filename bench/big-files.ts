// Big-file workloads the benches share: 1 MiB writes and reads at explicit positions, each MiB
// stamped with its index and a tag so that misplaced data fails the run instead of timing it.
import { randomFillSync } from 'node:crypto';
import type { BenchFs } from './table.js';

const IO = 1024 * 1024;

/** Milliseconds `fn` takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Mark MiB `i` of a file written with `tag`. */
export function stamp(buf: Buffer, i: number, tag: number): void {
  buf.writeUInt32LE(i, 0);
  buf.writeUInt32LE(tag, 4);
}

/** Write `mib` MiB with 1 MiB writes (of `template`, random bytes by default), then sync. */
export async function writeBig(fs: BenchFs, path: string, mib: number, tag: number, onMiB?: () => void, template?: Buffer): Promise<void> {
  const buf = template ? Buffer.from(template) : randomFillSync(Buffer.alloc(IO));
  const h = await fs.open(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      stamp(buf, i, tag);
      const { bytesWritten } = await h.write(buf, 0, IO, i * IO);
      if (bytesWritten !== IO) throw new Error(`${path}: short write at MiB ${i} (${bytesWritten} bytes)`);
      onMiB?.();
    }
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Read `mib` MiB with 1 MiB reads; each MiB must carry its index and `tag`. */
export async function readBig(fs: BenchFs, path: string, mib: number, tag: number, onMiB?: () => void): Promise<void> {
  const buf = Buffer.alloc(IO);
  const h = await fs.open(path, 'r');
  try {
    for (let i = 0; i < mib; i++) {
      const { bytesRead } = await h.read(buf, 0, IO, i * IO);
      if (bytesRead !== IO) throw new Error(`${path}: short read at MiB ${i} (${bytesRead} bytes)`);
      if (buf.readUInt32LE(0) !== i || buf.readUInt32LE(4) !== tag) throw new Error(`${path}: MiB ${i} holds the wrong data`);
      onMiB?.();
    }
  } finally {
    await h.close();
  }
}
