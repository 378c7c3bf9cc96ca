// Bounded concurrency for object-store calls: at most `max` run at once, the rest wait in order.
export class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly max: number) {}

  /** Calls in flight or waiting. */
  get pending(): number {
    return this.running + this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next waiter, so `running` stays put.
      if (next) next();
      else this.running--;
    }
  }
}

/** Runs every task, at most `limit` at once, and waits for all of them even when some fail (so
 * none is still writing into a caller's buffer afterwards); then throws the first failure. */
export async function settleAll(tasks: (() => Promise<void>)[], limiter: Limiter): Promise<void> {
  const results = await Promise.allSettled(tasks.map((t) => limiter.run(t)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
