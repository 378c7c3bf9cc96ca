// The client side of one member: a keep-alive connection pool and the requests the group makes.
// Timeouts are short on purpose: a member that cannot answer quickly is worth less than the
// object store behind it, so the caller moves on (and the circuit breaker in group.ts stops
// asking it until it heartbeats and answers again).
import { Readable } from 'node:stream';
import { Client, Pool } from 'undici';
import { SUMS_MAC_HEADER, TOKEN_HEADER, type GroupKey } from './token.js';
import { blockPath, dataBytes, FILLED_HEADER, pieceCount, wireBytes, type Loaded } from './wire.js';

/** 'hit': the member had it; 'via-group' / 'via-store': it loaded it to answer, from there;
 * 'forged': its checksums lack the group's MAC (changed on the way). */
export type FetchResult = 'hit' | 'via-group' | 'via-store' | 'absent' | 'busy' | 'forged' | 'failed';

// A request the member answers only after loading from the store or writing its disk (a fill, a
// warm, a block sent to it) may take this long, as long as the member answers pings meanwhile.
const LONG_MAX_MS = 30_000;

export interface PeerTimeouts {
  connectMs: number;
  /** For the answer to start, and between two pieces of a body. */
  answerMs: number;
}

export class Peer {
  readonly #pool: Pool;
  /** Pings go on a connection of their own: a member whose pool is full of stuck requests is
   * still asked, and found stalled. */
  readonly #pinger: Client;
  /** Aborts every long request in flight when a ping finds the member stalled. */
  #stall = new AbortController();
  #long = 0;
  #watchdog: NodeJS.Timeout | null = null;

  constructor(readonly id: string, readonly address: string, private readonly key: GroupKey, private readonly timeouts: PeerTimeouts) {
    this.#pool = new Pool(`http://${address}`, {
      connections: 16, connectTimeout: timeouts.connectMs, headersTimeout: timeouts.answerMs, bodyTimeout: timeouts.answerMs,
      keepAliveTimeout: 30_000,
    });
    this.#pinger = new Client(`http://${address}`, {
      connectTimeout: timeouts.connectMs, headersTimeout: Math.max(50, timeouts.answerMs / 2), bodyTimeout: timeouts.answerMs, keepAliveTimeout: 30_000,
    });
  }

  #request(method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE', path: string, body?: Buffer[], extra: { headersTimeout?: number; signal?: AbortSignal; headers?: Record<string, string> } = {}) {
    const length = body?.reduce((n, b) => n + b.byteLength, 0);
    return this.#pool.request({
      headersTimeout: extra.headersTimeout, signal: extra.signal ?? this.#stall.signal, method, path, body: body && Readable.from(body),
      headers: { [TOKEN_HEADER]: this.key.token(method, path), ...(length !== undefined ? { 'content-length': String(length) } : {}), ...extra.headers },
    });
  }

  /** A request the member may take a while to answer: allowed up to LONG_MAX_MS while the member
   * answers pings (one every answerMs); when two in a row go unanswered, every request to it is
   * dropped. */
  async #longRequest(method: 'GET' | 'PUT' | 'POST', path: string, body?: Buffer[], headers?: Record<string, string>) {
    this.#long++;
    this.#arm();
    try {
      return await this.#request(method, path, body, { headersTimeout: LONG_MAX_MS, signal: this.#stall.signal, headers });
    } finally {
      this.#long--;
    }
  }

  #arm(): void {
    if (this.#watchdog) return;
    this.#watchdog = setTimeout(() => void (async () => {
      // Two pings in a row unanswered: one can be lost to a busy moment of a loaded host.
      if (this.#long > 0 && !(await this.ping()) && !(await this.ping())) {
        this.#stall.abort();
        this.#stall = new AbortController();
      }
      this.#watchdog = null;
      if (this.#long > 0) this.#arm();
    })(), this.timeouts.answerMs);
    this.#watchdog.unref();
  }

  /** Block `key` whole into `target`, its piece checksums into `sums`; the caller verifies.
   * `fill`: a member that lacks it loads it (from the group or the store) to answer. */
  async fetchInto(key: string, blockLength: number, target: Uint8Array, sums: Uint8Array, fill: boolean): Promise<FetchResult> {
    try {
      const path = `${blockPath(key)}${fill ? '?fill=1' : ''}`;
      // A fill may take a while: the member may be loading the block from the store.
      const res = fill ? await this.#longRequest('GET', path) : await this.#request('GET', path);
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
    }
  }

  /** Send block `key` (data and its piece checksums) for the member to keep. */
  async put(key: string, data: Buffer, sums: Buffer): Promise<number> {
    try {
      const res = await this.#longRequest('PUT', blockPath(key), [data, sums], { [SUMS_MAC_HEADER]: this.key.sumsMac(key, 0, sums) });
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
    const res = await this.#longRequest('POST', path);
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

  /** Whether the member answers at all (busy counts: it answered), within half the answer timeout. */
  async ping(): Promise<boolean> {
    try {
      const res = await this.#pinger.request({ method: 'GET', path: '/v1/ping', headers: { [TOKEN_HEADER]: this.key.token('GET', '/v1/ping') } });
      await res.body.dump();
      return res.statusCode === 200 || res.statusCode === 429;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#watchdog) clearTimeout(this.#watchdog);
    this.#stall.abort();
    await Promise.all([this.#pool.destroy(), this.#pinger.destroy()]);
  }
}
