// Strata's retry loop and the S3 list-page assembly, on their own: budgets, backoff bounds,
// timeouts, the final EIO, and pages built from either reading of S3's start-after rule.
import { describe, expect, it } from 'vitest';
import { parseStorageUrl } from '../../src/config/urls.js';
import { errnoError } from '../../src/errors/errno.js';
import { canonicalStorageUrl } from '../../src/object/open.js';
import { AttemptTimeout, backoffMs, checkRetryPolicy, withRetries, type Verdict } from '../../src/object/retry.js';
import { classifyS3Error } from '../../src/object/s3-errors.js';
import { listPage, type RawListPage } from '../../src/object/s3-list.js';
import { checkListOptions, type ListOptions } from '../../src/object/store.js';
import { referenceList } from './reference.js';
import { rejectionOf } from './rejection.js';

const fast = checkRetryPolicy({ retries: 3, timeoutMs: 200, baseDelayMs: 1, maxDelayMs: 4 });
const target = { op: 'get', key: 'chunks/0/0/1_0_4', where: 'http://127.0.0.1:1/b/' };
const retryAll = (err: unknown): Verdict => ({ retry: true, cause: (err as Error).message });

describe('withRetries', () => {
  it('retries until an attempt succeeds', async () => {
    let n = 0;
    const got = await withRetries(fast, target, async (a) => {
      n++;
      expect(a.number).toBe(n);
      if (n < 3) throw new Error('ECONNRESET');
      return 'ok';
    }, retryAll);
    expect(got).toBe('ok');
    expect(n).toBe(3);
  });

  it('spends the budget, then gives EIO naming the key, the operation and the last cause', async () => {
    let n = 0;
    const cause = new Error('read ECONNRESET');
    const err = await rejectionOf(withRetries(fast, target, async () => {
      n++;
      throw cause;
    }, retryAll));
    expect(n).toBe(4);
    expect(err).toMatchObject({ code: 'EIO', syscall: 'get', path: target.key });
    expect(err.message).toContain('read ECONNRESET');
    expect(err.message).toContain('failed 4 times');
    expect(err.message).toContain(target.where);
    expect((err as Error & { cause?: unknown }).cause).toBe(cause);
  });

  it('gives up at once when the failure is final', async () => {
    let n = 0;
    const final = errnoError('EACCES', 'get', 'k', 'denied');
    await expect(withRetries(fast, target, async () => {
      n++;
      throw new Error('403');
    }, () => ({ retry: false, error: final }))).rejects.toBe(final);
    expect(n).toBe(1);
  });

  it('aborts an attempt that runs past the timeout and tries again', async () => {
    const signals: AbortSignal[] = [];
    const got = await withRetries({ ...fast, timeoutMs: 50 }, target, (a) => {
      signals.push(a.signal);
      // The first attempt never settles by itself: only the deadline ends it.
      return a.number === 1 ? new Promise<string>(() => undefined) : Promise.resolve('second');
    }, (err) => ({ retry: err instanceof AttemptTimeout, cause: String(err) }) as Verdict);
    expect(got).toBe('second');
    expect(signals[0].aborted).toBe(true);
    expect(signals[0].reason).toBeInstanceOf(AttemptTimeout);
    expect(signals[1].aborted).toBe(false);
  });

  it('backs off with full jitter under an exponential bound', () => {
    const p = checkRetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    for (let retry = 1; retry <= 8; retry++) {
      const bound = Math.min(1000, 100 * 2 ** (retry - 1));
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(p, retry);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(bound);
      }
    }
  });

  it('refuses nonsense budgets, naming the option', () => {
    expect(() => checkRetryPolicy({ retries: -1 })).toThrow(/ioRetries/);
    expect(() => checkRetryPolicy({ timeoutMs: 0 })).toThrow(/requestTimeoutMs/);
    expect(() => checkRetryPolicy({ baseDelayMs: 1.5 })).toThrow(/retryBaseDelayMs/);
    expect(checkRetryPolicy({}).retries).toBe(10);
  });
});

describe('classifyS3Error', () => {
  const ctx = { op: 'put', key: 'k', bucket: 'b', where: 'http://h/b/' };
  const sdk = (name: string, status: number) => Object.assign(new Error(name === 'Unknown' ? 'UnknownError' : `${name} message`), { name, $metadata: { httpStatusCode: status } });

  it('retries throttling, 5xx, timeouts and answers that never came', () => {
    for (const err of [sdk('SlowDown', 503), sdk('InternalError', 500), sdk('TooManyRequests', 429), sdk('RequestTimeout', 400), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), new AttemptTimeout(5)]) {
      expect(classifyS3Error(err, ctx).retry, err.message).toBe(true);
    }
  });

  it('maps final refusals to errno codes with a hint', () => {
    const v = (err: unknown) => {
      const out = classifyS3Error(err, ctx);
      if (out.retry) throw new Error('expected a final verdict');
      return out.error as Error & { code: string };
    };
    expect(v(sdk('NoSuchKey', 404)).code).toBe('ENOENT');
    expect(v(sdk('AccessDenied', 403))).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/check the access key/) });
    expect(v(sdk('Unknown', 403)).code).toBe('EACCES');
    expect(v(sdk('NoSuchBucket', 404))).toMatchObject({ code: 'EIO', message: expect.stringMatching(/bucket "b" does not exist/) });
    expect(v(sdk('PermanentRedirect', 301)).message).toMatch(/region/);
    expect(v(sdk('InvalidArgument', 400)).code).toBe('EIO');
  });
});

describe('listPage', () => {
  const keys = ['a/1', 'a/2', 'b', 'c/x/1', 'c/x/2', 'c/y', 'd', 'e/1'];

  /** ListObjectsV2 over `keys`; `repeat` lists a common prefix equal to start-after again. */
  function server(repeat: boolean) {
    let calls = 0;
    let repeats = 0;
    const fetch = async (prefix: string, startAfter: string | undefined, maxKeys: number, delimiter?: string): Promise<RawListPage> => {
      calls++;
      const ref = referenceList(keys, { prefix, startAfter, delimiter, limit: maxKeys });
      const prefixes = [...ref.prefixes];
      if (repeat && delimiter && startAfter?.endsWith(delimiter)) repeats++;
      if (repeat && delimiter && startAfter?.endsWith(delimiter) && keys.some((k) => k.startsWith(startAfter) && k !== startAfter)) {
        prefixes.unshift(startAfter);
        // S3 counts the repeated entry against max-keys.
        const all = [...ref.keys.map((k) => ({ k, p: false })), ...prefixes.map((k) => ({ k, p: true }))].sort((x, y) => (x.k < y.k ? -1 : 1));
        const page = all.slice(0, maxKeys);
        return { objects: page.filter((e) => !e.p).map((e) => ({ key: e.k, size: 1, mtime: new Date(0) })), prefixes: page.filter((e) => e.p).map((e) => e.k), truncated: ref.truncated || all.length > maxKeys };
      }
      return { objects: ref.keys.map((k) => ({ key: k, size: 1, mtime: new Date(0) })), prefixes, truncated: ref.truncated };
    };
    return { fetch, calls: () => calls, repeats: () => repeats };
  }

  for (const repeat of [false, true]) {
    it(`pages like the reference when S3 ${repeat ? 'repeats' : 'skips'} a start-after prefix`, async () => {
      let repeated = 0;
      for (const o of [{ delimiter: '/', limit: 1 }, { delimiter: '/', limit: 2 }, { delimiter: '/', limit: 3, prefix: 'c/' }, { limit: 3 }, { delimiter: '/' }] as ListOptions[]) {
        const s = server(repeat);
        let startAfter: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const opts = checkListOptions({ ...o, startAfter });
          const page = await listPage(opts, (p, a, m) => s.fetch(p, a, m, o.delimiter));
          const want = referenceList(keys, { ...o, startAfter });
          expect({ keys: page.objects.map((x) => x.key), prefixes: page.prefixes, truncated: page.truncated, ...(page.next ? { next: page.next } : {}) }, JSON.stringify({ ...o, startAfter })).toEqual(want);
          if (!page.truncated) break;
          startAfter = page.next;
        }
        repeated += s.repeats();
      }
      if (repeat) expect(repeated).toBeGreaterThan(0);
    });
  }
});

describe('storage URL addressing style', () => {
  it('parses ?style=path|virtual and keeps it in the canonical URL', () => {
    expect(parseStorageUrl('https://s3.example.com/bkt/p?style=path')).toMatchObject({ kind: 's3', pathStyle: true, bucket: 'bkt', prefix: 'p' });
    expect(parseStorageUrl('https://s3.example.com/bkt?style=virtual')).toMatchObject({ pathStyle: false });
    expect(() => parseStorageUrl('https://s3.example.com/bkt?style=sideways')).toThrow(/"path" or "virtual"/);
    expect(canonicalStorageUrl('https://AK:SK@s3.example.com/bkt/p?style=path&region=eu-west-1')).toBe('https://s3.example.com/bkt/p?region=eu-west-1&style=path');
  });
});
