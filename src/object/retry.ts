// Strata's own retries for object storage requests: the SDK's are turned off so that one budget,
// one backoff rule and one per-attempt timeout apply to every backend call, and so that the
// error a caller finally sees names the key, the operation and what went wrong last.
import { errnoError } from '../errors/errno.js';

export interface RetryPolicy {
  /** Retries after the first attempt (the io-retries budget); 0 tries once. */
  retries: number;
  /** An attempt still unfinished after this many milliseconds is aborted and counts as failed. */
  timeoutMs: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { retries: 10, timeoutMs: 60_000, baseDelayMs: 100, maxDelayMs: 10_000 };

/** What to do with a failed attempt: try again (saying why it failed, with the error to keep as
 * the final cause), or give up with `error`. */
export type Verdict = { retry: true; cause: string; error?: Error } | { retry: false; error: Error };

export interface Attempt {
  /** Aborted when the attempt times out; the attempt must stop touching caller memory then. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  number: number;
}

export interface RetryTarget {
  /** e.g. 'get', 'put', 'list' (the errno `syscall`). */
  op: string;
  /** The object key, or the list prefix, named in the final error. */
  key?: string;
  /** Where the store lives, e.g. `http://127.0.0.1:9000/bucket/` (no credentials). */
  where: string;
}

/** Thrown into an attempt's signal when it runs past the policy's timeout. */
export class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}
Object.defineProperty(AttemptTimeout.prototype, 'name', { value: 'AttemptTimeout', writable: true, configurable: true, enumerable: false });

/** Checks a policy's numbers, naming the option that is wrong. */
export function checkRetryPolicy(p: Partial<RetryPolicy>): RetryPolicy {
  const out = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) };
  const names: Record<keyof RetryPolicy, string> = { retries: 'ioRetries', timeoutMs: 'requestTimeoutMs', baseDelayMs: 'retryBaseDelayMs', maxDelayMs: 'retryMaxDelayMs' };
  for (const k of Object.keys(names) as (keyof RetryPolicy)[]) {
    const v = out[k];
    const min = k === 'timeoutMs' ? 1 : 0;
    if (!Number.isSafeInteger(v) || v < min) throw errnoError('EINVAL', 'open', undefined, `${names[k]} must be a whole number >= ${min}, got ${String(v)}`);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Full jitter (a uniformly random delay up to the exponential bound) spreads out clients that
 * failed together, so they do not come back together. */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.floor(Math.random() * bound);
}

/**
 * Run `attempt` until it succeeds, `classify` says to give up, or the budget is spent; then EIO
 * naming the key, the operation, the number of attempts and the last cause.
 */
export async function withRetries<T>(policy: RetryPolicy, target: RetryTarget, attempt: (a: Attempt) => Promise<T>, classify: (err: unknown) => Verdict): Promise<T> {
  const started = Date.now();
  let lastCause = '';
  let lastError: unknown;
  for (let n = 1; n <= policy.retries + 1; n++) {
    if (n > 1) await sleep(backoffMs(policy, n - 1));
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new AttemptTimeout(policy.timeoutMs);
        ac.abort(err);
        reject(err);
      }, policy.timeoutMs);
    });
    try {
      // The race returns at the deadline even if the attempt ignores its signal; the attempt
      // itself stops writing caller memory once the signal is aborted.
      return await Promise.race([attempt({ signal: ac.signal, number: n }), timedOut]);
    } catch (err) {
      ac.abort(); // let go of anything the failed attempt still holds (a body stream, a socket)
      const verdict = classify(err);
      if (!verdict.retry) throw verdict.error;
      lastCause = verdict.cause;
      lastError = verdict.error ?? err;
    } finally {
      clearTimeout(timer);
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const tries = policy.retries + 1;
  throw errnoError('EIO', target.op, target.key, `${target.op} failed ${tries} time${tries === 1 ? '' : 's'} over ${seconds}s in ${target.where}; last cause: ${lastCause}; the io-retries budget is ${policy.retries}`, lastError);
}
