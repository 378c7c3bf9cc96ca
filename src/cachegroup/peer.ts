// The client side of one member: a keep-alive connection pool and the requests the group makes.
// Timeouts are short on purpose: a member that cannot answer quickly is worth less than the
// object store behind it, so the caller moves on (and the circuit breaker in group.ts stops
// asking it until it heartbeats and answers again).
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { SUMS_MAC_HEADER, TOKEN_HEADER, type GroupKey } from './token.js';
import { blockPath, dataBytes, FILLED_HEADER, pieceCount, wireBytes, type Loaded } from './wire.js';

/** 'hit': the member had it; 'via-group' / 'via-store': it loaded it to answer, from there;
 * 'forged': its checksums lack the group's MAC (changed on the way). */
export type FetchResult = 'hit' | 'via-group' | 'via-store' | 'absent' | 'busy' | 'forged' | 'failed';

// A member filling a block for a reader may take this long (it may be loading from the store).
const FILL_MAX_MS = 30_000;

export interface PeerTimeouts {
  connectMs: number;
  /** For the answer to start, and between two pieces of a body. */
  answerMs: number;
}

export class Peer {
  readonly #pool: Pool;

  constructor(readonly id: string, readonly address: string, private readonly key: GroupKey, private readonly timeouts: PeerTimeouts) {
    this.#pool = new Pool(`http://${address}`, {
      connections: 16, connectTimeout: timeouts.connectMs, headersTimeout: timeouts.answerMs, bodyTimeout: timeouts.answerMs,
      keepAliveTimeout: 30_000,
    });
  }

  #request(method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE', path: string, body?: Buffer[], extra: { headersTimeout?: number; signal?: AbortSignal; headers?: Record<string, string> } = {}) {
    const length = body?.reduce((n, b) => n + b.byteLength, 0);
    return this.#pool.request({
      headersTimeout: extra.headersTimeout, signal: extra.signal, method, path, body: body && Readable.from(body),
      headers: { [TOKEN_HEADER]: this.key.token(method, path), ...(length !== undefined ? { 'content-length': String(length) } : {}), ...extra.headers },
    });
  }

  /** Block `key` whole into `target`, its piece checksums into `sums`; the caller verifies.
   * `fill`: a member that lacks it loads it (from the group or the store) to answer. */
  async fetchInto(key: string, blockLength: number, target: Uint8Array, sums: Uint8Array, fill: boolean): Promise<FetchResult> {
    // A fill may take a while (the member may be loading from the store): while it has not
    // answered, a ping every answerMs tells a busy member from a stalled one, which is given up
    // on at once.
    const stalled = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const watch = () => {
      watchdog = setTimeout(() => void this.ping().then((alive) => {
        if (!alive) stalled.abort();
        else if (!stalled.signal.aborted && watchdog) watch();
      }), this.timeouts.answerMs);
    };
    if (fill) watch();
    try {
      const res = await this.#request('GET', `${blockPath(key)}${fill ? '?fill=1' : ''}`, undefined, fill ? { headersTimeout: FILL_MAX_MS, signal: stalled.signal } : {});
      clearTimeout(watchdog);
      watchdog = undefined;
      if (res.statusCode !== 200) {
        await res.body.dump();
        return res.statusCode === 404 ? 'absent' : res.statusCode === 429 ? 'busy' : 'failed';
      }
      const pieces = pieceCount(blockLength);
      const dataLength = dataBytes(blockLength, 0, pieces);
      const total = wireBytes(blockLength, 0, pieces);
      let at = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (at + chunk.byteLength > total) {
          res.body.destroy();
          return 'failed';
        }
        const inData = Math.max(0, Math.min(chunk.byteLength, dataLength - at));
        if (inData > 0) target.set(chunk.subarray(0, inData), at);
        if (inData < chunk.byteLength) sums.set(chunk.subarray(inData), at + inData - dataLength);
        at += chunk.byteLength;
      }
      if (at !== total) return 'failed';
      // Checked here; the caller checks the bytes against the checksums.
      if (!this.key.sumsMacMatches(key, 0, sums, res.headers[SUMS_MAC_HEADER])) return 'forged';
      const filled = res.headers[FILLED_HEADER];
      return filled === 'store' ? 'via-store' : filled === 'group' ? 'via-group' : 'hit';
    } catch {
      return 'failed';
    } finally {
      clearTimeout(watchdog);
      watchdog = undefined;
    }
  }

  /** Send block `key` (data and its piece checksums) for the member to keep. */
  async put(key: string, data: Buffer, sums: Buffer): Promise<number> {
    try {
      const res = await this.#request('PUT', blockPath(key), [data, sums], { headers: { [SUMS_MAC_HEADER]: this.key.sumsMac(key, 0, sums) } });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 0;
    }
  }

  async drop(key: string): Promise<void> {
    try {
      await (await this.#request('DELETE', blockPath(key))).body.dump();
    } catch {
      // Best effort: the copy fails verification again next time and is dropped then.
    }
  }

  /** Whether the member holds block `key` (null: it did not answer). */
  async holds(key: string): Promise<boolean | null> {
    try {
      const res = await this.#request('HEAD', blockPath(key));
      await res.body.dump();
      return res.statusCode === 200 ? true : res.statusCode === 404 ? false : null;
    } catch {
      return null;
    }
  }

  /** Ask the member to make sure it holds block `key`. */
  async warm(key: string): Promise<Loaded> {
    const path = `/v1/warm/${encodeURIComponent(key)}`;
    const res = await this.#request('POST', path);
    const text = await res.body.text();
    if (res.statusCode !== 200 || (text !== 'cached' && text !== 'group' && text !== 'store')) throw new Error(`member ${this.address} could not warm ${key}: ${res.statusCode} ${text.slice(0, 200)}`);
    return text;
  }

  /** The member's counters (GET /v1/stats). */
  async stats(): Promise<Record<string, unknown>> {
    const res = await this.#request('GET', '/v1/stats');
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`member ${this.address}: /v1/stats answered ${res.statusCode}`);
    }
    return (await res.body.json()) as Record<string, unknown>;
  }

  /** Whether the member answers at all, within half the answer timeout. */
  async ping(): Promise<boolean> {
    try {
      const res = await this.#request('GET', '/v1/ping', undefined, { headersTimeout: Math.max(50, this.timeouts.answerMs / 2) });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
