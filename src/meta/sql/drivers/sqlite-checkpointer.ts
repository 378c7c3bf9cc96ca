// WAL checkpoints on a thread of their own. SQLite otherwise checkpoints inside the COMMIT that
// crosses `wal_autocheckpoint`: that commit copies the whole WAL into the database file and
// fsyncs both, ~100 ms during which the JS thread answers nothing (measured: a third of a small
// file's COMMIT time, paid as one stall every ~1,000 creates). A worker with its own connection
// copies frames (PASSIVE: it never blocks a writer) while the JS thread goes on committing.
// Under constant writes the WAL is never wholly copied, so it never restarts and the writer's own
// checkpoint still comes at the bound; it then finds nearly everything copied already (stalls of
// ~10 ms instead of ~120). A FULL checkpoint on the worker would restart the WAL sooner, but it
// holds the write lock across its fsyncs, and the writer sleeps in SQLite's busy handler meanwhile:
// measured, no better.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A checkpoint is due once this many transactions committed since the last one... */
const COMMITS_PER_CHECKPOINT = 64;
/** ...or this long after the last one, if anything committed since. */
const MAX_DELAY_MS = 1000;
/** How often the worker looks at the commit count. */
const TICK_MS = 50;
/** Short-lived processes (a CLI command) never start the worker: it starts at this many commits. */
export const START_AFTER_COMMITS = 64;

// CommonJS source for an eval'd worker: no separate file to locate in source and compiled trees.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const commits = new Int32Array(workerData.commits);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 20');
// Nothing is known checkpointed yet: the commits made while this thread started count too.
let done = 0;
let doneAt = 0;
let failed = false;
const tick = setInterval(() => {
  const now = Atomics.load(commits, 0);
  if (failed || now === done) return;
  if (now - done < workerData.perCheckpoint && Date.now() - doneAt < workerData.maxDelayMs) return;
  try {
    // PASSIVE: copies what no reader still needs and never waits on, or blocks, a writer.
    db.pragma('wal_checkpoint(PASSIVE)');
    done = now;
    doneAt = Date.now();
  } catch (err) {
    failed = true;
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.tickMs);
parentPort.on('message', () => {
  clearInterval(tick);
  db.close();
  parentPort.close();
});
`;

export class SqliteCheckpointer {
  readonly #commits = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | null = null;
  #exited: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(readonly path: string, readonly url: string) {}

  /** A transaction committed on this process's writer. */
  committed(): void {
    const n = Atomics.add(this.#commits, 0, 1) + 1;
    if (n === START_AFTER_COMMITS && !this.#stopped) this.#start();
  }

  get running(): boolean {
    return this.#worker !== null;
  }

  #start(): void {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        path: this.path,
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        commits: this.#commits.buffer,
        perCheckpoint: COMMITS_PER_CHECKPOINT,
        maxDelayMs: MAX_DELAY_MS,
        tickMs: TICK_MS,
      },
    });
    // A process that forgets to close its volume still exits; SQLite needs no checkpoint to be safe.
    worker.unref();
    const fallback = 'SQLite checkpoints in line with commits instead';
    worker.on('message', (m: { error?: string }) => {
      if (m.error) process.emitWarning(`strata: background checkpoints of ${this.url} stopped (${m.error}); ${fallback}`);
    });
    worker.on('error', (err) => process.emitWarning(`strata: the checkpoint thread of ${this.url} failed (${err.message}); ${fallback}`));
    this.#exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.#worker = worker;
  }

  /** Stop the worker and close its connection, before the writer's: the last connection to close
   * is the one that checkpoints everything and removes the WAL. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const worker = this.#worker;
    this.#worker = null;
    worker?.postMessage('stop');
    await this.#exited;
  }
}
