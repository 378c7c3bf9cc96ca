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
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A checkpoint is due once this many transactions committed since the last one... */
const COMMITS_PER_CHECKPOINT = 64;
/** ...or this long after the last one, if anything committed since. */
const MAX_DELAY_MS = 1000;
/** While commits are pending, how often the worker looks at their count. */
const TICK_MS = 50;
/** Short-lived processes (a CLI command) never start the worker: it starts at this many commits. */
const START_AFTER_COMMITS = 64;
/** Slots of the shared control array: commits so far, and 1 once the worker must stop. */
const COMMITS = 0;
const STOP = 1;

// Source for an eval'd worker: no separate file to locate in source and compiled trees. It is
// read as CommonJS or, when the process runs with --input-type=module or
// --experimental-default-type=module (inherited), as a module: dynamic import() works in both.
// It sleeps in Atomics.wait, with no timer while nothing is pending: an idle volume (an app
// embedding the SDK, on a laptop) never wakes it.
const WORKER = `
(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const Database = (await import(workerData.module)).default;
const ctl = new Int32Array(workerData.control);
const COMMITS = ${COMMITS}, STOP = ${STOP};
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 20');
// The commit count at the last attempt, when it was, and whether it copied the whole WAL. Nothing
// is known copied yet: the commits made while this thread started count too.
let tried = 0;
let triedAt = 0;
let whole = false;
while (Atomics.load(ctl, STOP) === 0) {
  const now = Atomics.load(ctl, COMMITS);
  if (whole && now === tried) {
    Atomics.wait(ctl, COMMITS, now);
    continue;
  }
  if (((now - tried) | 0) < workerData.perCheckpoint && Date.now() - triedAt < workerData.maxDelayMs) {
    Atomics.wait(ctl, STOP, 0, workerData.tickMs);
    continue;
  }
  try {
    // PASSIVE: copies what no reader still needs and never waits on, or blocks, a writer. Short
    // of the whole WAL (another checkpointer was at work, a reader still needs old frames, or
    // commits came meanwhile), it is tried again a second later even if this process commits
    // nothing more: the last commits before a quiet spell must reach the file too.
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    whole = r.busy === 0 && r.checkpointed === r.log;
  } catch (err) {
    // Busy for a moment (another process recovering the WAL, say): tried again as above.
    if (!/^SQLITE_(BUSY|LOCKED)/.test(String(err && err.code))) {
      parentPort.postMessage({ error: String(err && err.message || err) });
      break;
    }
    whole = false;
  }
  tried = now;
  triedAt = Date.now();
}
db.close();
})().catch(async (err) => {
  // Through the message, not the error event: a SqliteError's message does not survive that copy.
  (await import('node:worker_threads')).parentPort.postMessage({ error: String(err && err.message || err) });
});
`;

export class SqliteCheckpointer {
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  #worker: Worker | null = null;
  #exited: Promise<void> = Promise.resolve();
  /** Started once, or stopped: never (re)started again. */
  #done = false;

  constructor(readonly path: string, readonly url: string) {}

  /** A transaction committed on this process's writer. */
  committed(): void {
    const n = Atomics.add(this.#control, COMMITS, 1) + 1;
    // Wakes the worker only if it sleeps for want of commits; otherwise nobody waits: no syscall.
    Atomics.notify(this.#control, COMMITS, 1);
    if (!this.#done && n >= START_AFTER_COMMITS) this.#start();
  }

  #start(): void {
    this.#done = true;
    const fallback = 'SQLite checkpoints in line with commits instead';
    let worker: Worker;
    try {
      worker = new Worker(WORKER, {
        eval: true,
        workerData: {
          path: this.path,
          module: pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href,
          control: this.#control.buffer,
          perCheckpoint: COMMITS_PER_CHECKPOINT,
          maxDelayMs: MAX_DELAY_MS,
          tickMs: TICK_MS,
        },
      });
    } catch (err) {
      // Called after a COMMIT: the transaction stands whatever happens here.
      process.emitWarning(`strata: no checkpoint thread for ${this.url} (${(err as Error).message}); ${fallback}`);
      return;
    }
    worker.on('message', (m: { error?: string }) => {
      if (m.error) process.emitWarning(`strata: background checkpoints of ${this.url} stopped (${m.error}); ${fallback}`);
    });
    worker.on('error', (err: unknown) => process.emitWarning(`strata: the checkpoint thread of ${this.url} failed (${String((err as Error | undefined)?.message ?? err)}); ${fallback}`));
    // While running it must not keep a process alive that forgot to close its volume (SQLite
    // needs no checkpoint to be safe); stop() holds the process until it has closed. After the
    // listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.#exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.#worker = worker;
  }

  /** Stop the worker and close its connection, before the writer's: the last connection to close
   * is the one that checkpoints everything and removes the WAL. */
  async stop(): Promise<void> {
    this.#done = true;
    const worker = this.#worker;
    this.#worker = null;
    // An unref'd worker's exit does not keep the event loop alive: without this, a process whose
    // last work is closing its volume would end before close() returns.
    worker?.ref();
    Atomics.store(this.#control, STOP, 1);
    // Moves the count too: a worker between its look at STOP and its wait for a new count would
    // otherwise sleep on an unchanged count for good.
    Atomics.add(this.#control, COMMITS, 1);
    Atomics.notify(this.#control, COMMITS);
    Atomics.notify(this.#control, STOP);
    await this.#exited;
  }
}
