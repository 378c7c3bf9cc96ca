// A member's side of the cache group: it serves its disk cache to the other members and takes
// blocks they send it. Every request must carry a valid group token (403 and nothing else when
// not); a member busier than its limit says 429 at once rather than queueing without bound.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DiskCache } from '../chunk/disk-cache.js';
import { errnoError } from '../errors/errno.js';
import { SUMS_MAC_HEADER, TOKEN_HEADER, type GroupKey } from './token.js';
import { blockOf, dataBytes, FILLED_HEADER, pieceCount, wireBytes, type Loaded } from './wire.js';

export interface GroupServerOptions {
  cache: DiskCache;
  key: GroupKey;
  /** The volume's block size: a key naming a longer block is refused. */
  maxBlockLength: number;
  /** Requests handled at once; more get 429. */
  maxConcurrent?: number;
  /** What /v1/stats answers besides the server's own counters (the member's group counters). */
  stats(): object;
  /** Make sure block `key` is here (a warmup asks the owner): 'cached' or 'fetched'. */
  warm(key: string, blockLength: number): Promise<Loaded>;
}

export interface GroupServerCounters {
  served: number;
  servedBytes: number;
  absent: number;
  accepted: number;
  refused: number;
  shed: number;
  forbidden: number;
}

const DEFAULT_MAX_CONCURRENT = 64;
// Connections beyond this are refused: a flood of idle connections must not take the process's
// file descriptors from its own storage requests.
const MAX_CONNECTIONS = 512;

function send(res: ServerResponse, status: number, body?: string | Buffer[], headers: Record<string, string | number> = {}): void {
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.reduce((n, b) => n + b.byteLength, 0);
  res.writeHead(status, { 'content-length': length, ...headers });
  if (body === undefined) res.end();
  else if (typeof body === 'string') res.end(body);
  else {
    for (const b of body.slice(0, -1)) res.write(b);
    res.end(body[body.length - 1]);
  }
}

async function readBody(req: IncomingMessage, expected: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (declared !== expected) return null;
  const out = Buffer.allocUnsafe(expected);
  let at = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (at + chunk.byteLength > expected) return null;
    chunk.copy(out, at);
    at += chunk.byteLength;
  }
  return at === expected ? out : null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}

export class GroupServer {
  readonly counters: GroupServerCounters = { served: 0, servedBytes: 0, absent: 0, accepted: 0, refused: 0, shed: 0, forbidden: 0 };
  readonly #server: Server;
  readonly #maxConcurrent: number;
  #inFlight = 0;
  readonly #handling = new Set<Promise<void>>();

  private constructor(private readonly options: GroupServerOptions) {
    this.#maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    // A request must arrive whole within a minute (a PUT is one block), its headers within 10 s.
    this.#server = createServer({ keepAliveTimeout: 60_000, headersTimeout: 10_000, requestTimeout: 60_000 }, (req, res) => {
      const handled = this.#handle(req, res);
      this.#handling.add(handled);
      void handled.finally(() => this.#handling.delete(handled));
    });
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  /** Listen on `host:port` (port 0: any free one). */
  static async listen(options: GroupServerOptions, host: string, port: number): Promise<GroupServer> {
    const s = new GroupServer(options);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', (err: NodeJS.ErrnoException) => reject(errnoError(err.code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EIO', 'listen', `${host}:${port}`,
        err.code === 'EADDRINUSE' ? `the cache-group address ${host}:${port} is in use: choose another with --listen / --group-address` : `the cache group cannot listen on ${host}:${port}: ${err.message}`, err)));
      s.#server.listen(port, host, () => resolve());
    });
    return s;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (!this.options.key.verify(method, path, req.headers[TOKEN_HEADER] as string | undefined)) {
      this.counters.forbidden++;
      req.resume();
      send(res, 403, undefined, { connection: 'close' });
      return;
    }
    // Answered however busy: a ping tells the asker this member is alive.
    if (path === '/v1/ping') return send(res, 200, 'ok');
    if (this.#inFlight >= this.#maxConcurrent) {
      this.counters.shed++;
      req.resume();
      send(res, 429, undefined, { 'retry-after': 1 });
      return;
    }
    this.#inFlight++;
    try {
      await this.#route(method, new URL(path, 'http://member'), req, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    } finally {
      this.#inFlight--;
    }
  }

  async #route(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (url.pathname === '/v1/stats') return send(res, 200, JSON.stringify({ ...this.options.stats(), server: this.counters, inFlight: this.#inFlight - 1 }), { 'content-type': 'application/json' });
    const m = /^\/v1\/(blocks|warm)\/([^/]+)$/.exec(url.pathname);
    const block = m ? blockOf(safeDecode(m[2])) : null;
    if (!m || !block || block.blockLength > this.options.maxBlockLength) {
      req.resume();
      return send(res, 400, 'not a cache-group request');
    }
    const { cache } = this.options;
    const pieces = pieceCount(block.blockLength);
    if (m[1] === 'warm' && method === 'POST') return send(res, 200, await this.options.warm(block.key, block.blockLength));
    if (method === 'GET' || method === 'HEAD') {
      const first = Number(url.searchParams.get('first') ?? 0);
      const count = Number(url.searchParams.get('count') ?? pieces - first);
      if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 1 || first + count > pieces) return send(res, 400, 'bad piece range');
      if (method === 'HEAD') {
        const here = (await cache.cachedBytes(block.key)) > 0;
        return send(res, here ? 200 : 404);
      }
      let got = await cache.readPieces(block.key, block.blockLength, first, count);
      let filled: Loaded = 'cached';
      // ?fill=1: the reader asks the block's owner, which loads what it lacks itself (once, however
      // many readers ask at the same time), so readers of one dataset cost one GET per block.
      if (!got && url.searchParams.get('fill') === '1') {
        filled = await this.options.warm(block.key, block.blockLength).catch((): Loaded => 'cached');
        got = await cache.readPieces(block.key, block.blockLength, first, count);
      }
      if (!got) {
        this.counters.absent++;
        return send(res, 404);
      }
      this.counters.served++;
      this.counters.servedBytes += got.data.byteLength;
      const headers = { [SUMS_MAC_HEADER]: this.options.key.sumsMac(block.key, first, got.sums), ...(filled === 'cached' ? {} : { [FILLED_HEADER]: filled }) };
      return send(res, 200, [got.data, got.sums], headers);
    }
    if (method === 'PUT') {
      const body = await readBody(req, wireBytes(block.blockLength, 0, pieces));
      if (!body) return send(res, 400, 'the body is not the whole block with its checksums');
      const data = body.subarray(0, dataBytes(block.blockLength, 0, pieces));
      const sums = body.subarray(data.byteLength);
      if (!this.options.key.sumsMacMatches(block.key, 0, sums, req.headers[SUMS_MAC_HEADER])) {
        this.counters.refused++;
        return send(res, 422, 'the block\'s checksums do not carry the group\'s MAC');
      }
      let ok: boolean;
      try {
        ok = await cache.accept(block.key, data, sums);
      } catch (err) {
        this.counters.refused++;
        return send(res, 507, err instanceof Error ? err.message : String(err));
      }
      if (!ok) {
        this.counters.refused++;
        return send(res, 422, 'the block does not match its checksums');
      }
      this.counters.accepted++;
      return send(res, 204);
    }
    if (method === 'DELETE') {
      await cache.evict(block.key);
      return send(res, 204);
    }
    req.resume();
    return send(res, 405);
  }

  /** Stop taking requests, let those in flight finish (up to 5 s), then drop every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await Promise.race([Promise.allSettled([...this.#handling]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    this.#server.closeAllConnections();
    await closed;
  }
}
