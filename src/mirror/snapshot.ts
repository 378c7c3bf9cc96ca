// A copy of the primary's volume into a mirror's engine from one consistent snapshot: the dump
// of one is loaded into the other as it is read, through a short queue, so a volume of any size
// moves without being held in memory. Both sides are single transactions: the mirror gets all of
// the snapshot or none of it.
import type { SqlDriver } from '../meta/sql/driver.js';
import { dumpVolume, loadVolume, type DumpCounts, type DumpHeader, type LoadOptions } from '../meta/sql/dump.js';

/** Lines buffered between the reader and the writer. */
const QUEUE_LINES = 2000;

class LineQueue implements AsyncIterable<string> {
  readonly #lines: string[] = [];
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;
  #ended = false;
  #failed: unknown = null;
  #abandoned: unknown = null;

  async push(line: string): Promise<void> {
    if (this.#abandoned !== null) throw this.#abandoned;
    this.#lines.push(line);
    this.#wakeReader?.();
    while (this.#lines.length >= QUEUE_LINES && this.#abandoned === null) await new Promise<void>((r) => { this.#wakeWriter = r; });
    if (this.#abandoned !== null) throw this.#abandoned;
  }

  end(err: unknown = null): void {
    this.#ended = true;
    this.#failed = err;
    this.#wakeReader?.();
  }

  /** The reader stopped: the writer's next push throws `err`. */
  abandon(err: unknown): void {
    this.#abandoned = err;
    this.#wakeWriter?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (this.#lines.length < QUEUE_LINES / 2) this.#wakeWriter?.();
        yield line;
        continue;
      }
      if (this.#ended) {
        if (this.#failed !== null) throw this.#failed;
        return;
      }
      await new Promise<void>((r) => { this.#wakeReader = r; });
    }
  }
}

export interface SnapshotProgress {
  total?: (rows: number) => void;
  progress?: (rows: number) => void;
}

/** Dump `from` into `to`; secrets are copied as they are stored (they stay at rest in a volume's
 * engine, never in a file). */
export async function copySnapshot(from: SqlDriver, to: SqlDriver, load: LoadOptions, progress: SnapshotProgress = {}): Promise<DumpHeader & DumpCounts> {
  const queue = new LineQueue();
  const dumping = dumpVolume(from, (line) => queue.push(line), { keepSecret: () => true, total: progress.total, progress: progress.progress })
    .then((r) => { queue.end(); return r; }, (err: unknown) => { queue.end(err); throw err; });
  try {
    const loaded = await loadVolume(to, queue, load);
    await dumping;
    return loaded;
  } catch (err) {
    queue.abandon(err);
    await dumping.catch(() => undefined);
    throw err;
  }
}
