// A request's payload as the operations see it: decoded bytes, verified on the way (the SHA-256
// the signature covers, or the chunk signatures of an aws-chunked stream) and against the length
// the client declared. Any mismatch surfaces as an S3Error from the iteration, before the
// operation makes anything visible.
import { createHash, type Hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { PayloadMode } from './auth.js';
import { decodeAwsChunked } from './chunked.js';
import { S3Error } from './errors.js';
import { header, type S3Request } from './request.js';

function lengthHeader(req: S3Request, name: string): number | null {
  const v = header(req, name);
  if (v === undefined) return null;
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error('InvalidArgument', `${name} "${v}" is not a whole number of bytes.`);
  return Number(v.trim());
}

/** How fast a body must keep coming: at least `minBytes` (or what is left of it) in every
 * `windowMs`, or the request fails with RequestTimeout and its connection is closed. A body
 * that trickles would otherwise hold its connection (and a file descriptor) for ever. */
export interface BodyProgress {
  windowMs: number;
  minBytes: number;
}

export class RequestBody {
  readonly trailers = new Map<string, string>();
  #started = false;
  #finished = false;

  constructor(private readonly req: S3Request, private readonly res: ServerResponse, private readonly mode: PayloadMode, private readonly progress?: BodyProgress) {}

  /** True once reading began (an error after that may leave unread bytes on the connection). */
  get started(): boolean { return this.#started; }
  /** True when the whole body was read and verified. */
  get finished(): boolean { return this.#finished; }

  /** Trailing headers are announced up front (x-amz-trailer) even though they come last. */
  get announcedTrailer(): string | null {
    if (this.mode.kind !== 'chunked' || !this.mode.trailer) return null;
    return header(this.req, 'x-amz-trailer')?.trim().toLowerCase() ?? null;
  }

  /** The number of payload bytes the client declares (decoded, for aws-chunked), or null. */
  declaredLength(): number | null {
    if (this.mode.kind === 'chunked') return lengthHeader(this.req, 'x-amz-decoded-content-length');
    return lengthHeader(this.req, 'content-length');
  }

  /** Nothing to read: no length and no chunked framing means an empty body. */
  get empty(): boolean {
    return this.mode.kind !== 'chunked' && header(this.req, 'transfer-encoding') === undefined && (lengthHeader(this.req, 'content-length') ?? 0) === 0;
  }

  async *chunks(limit = Number.MAX_SAFE_INTEGER): AsyncGenerator<Buffer> {
    if (this.#started) throw new Error('the request body was already read');
    this.#started = true;
    const declared = this.declaredLength();
    if (declared !== null && declared > limit) throw new S3Error('EntityTooLarge', `The body is ${declared} bytes; at most ${limit} are allowed here.`, { MaxSizeAllowed: String(limit), ProposedSize: String(declared) });
    // A client waiting for "100 Continue" sends the body only once the request was accepted.
    if (/100-continue/i.test(header(this.req, 'expect') ?? '') && !this.res.headersSent) this.res.writeContinue();
    const raw = this.req.raw as AsyncIterable<Buffer>;
    const source = this.mode.kind === 'chunked' ? decodeAwsChunked(raw, this.mode.signing, this.mode.trailer, this.trailers) : raw;
    const hash: Hash | null = this.mode.kind === 'sha256' ? createHash('sha256') : null;
    let total = 0;
    const progress = this.progress;
    // Only time spent waiting for the client counts: an operation that reads slowly (its store is
    // busy) holds the client back, not the other way round.
    let mark = 0;
    let waited = 0;
    let waitingSince: number | null = null;
    // A stalled body fails the read at once; the connection is then closed after the error answer
    // (destroying the stream here would take the answer's socket with it).
    let stall: (err: S3Error) => void = () => undefined;
    const stalled = new Promise<never>((_resolve, reject) => { stall = reject; });
    stalled.catch(() => undefined);
    const watchdog = progress && setInterval(() => {
      const now = Date.now();
      if (waited + (waitingSince === null ? 0 : now - waitingSince) < progress.windowMs) return;
      const want = Math.min(progress.minBytes, declared === null ? progress.minBytes : declared - mark);
      if (total - mark < want) stall(new S3Error('RequestTimeout', `The body came slower than ${progress.minBytes} bytes in ${progress.windowMs / 1000} s.`));
      mark = total;
      waited = 0;
      if (waitingSince !== null) waitingSince = now;
    }, Math.max(10, progress.windowMs / 4));
    const pieces = source[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = pieces.next();
        next.catch(() => undefined);
        waitingSince = Date.now();
        const r = watchdog ? await Promise.race([next, stalled]) : await next;
        waited += Date.now() - waitingSince;
        waitingSince = null;
        if (r.done) break;
        const chunk = r.value;
        total += chunk.length;
        if (total > limit) throw new S3Error('EntityTooLarge', `The body exceeds the ${limit} bytes allowed here.`);
        if (declared !== null && total > declared) throw new S3Error('IncompleteBody', `The body holds more than the ${declared} bytes declared.`);
        hash?.update(chunk);
        yield chunk;
      }
    } catch (err) {
      if (err instanceof S3Error) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'aborted') {
        throw new S3Error('IncompleteBody', 'The client closed the connection before sending the whole body.');
      }
      throw err;
    } finally {
      clearInterval(watchdog);
    }
    if (declared !== null && total !== declared) throw new S3Error('IncompleteBody', `The body holds ${total} bytes; ${declared} were declared.`);
    if (hash && this.mode.kind === 'sha256') {
      const got = hash.digest('hex');
      if (got !== this.mode.expected) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, { ClientComputedContentSHA256: this.mode.expected, S3ComputedContentSHA256: got });
      }
    }
    const announced = this.announcedTrailer;
    if (announced && !this.trailers.has(announced)) {
      throw new S3Error('InvalidRequest', `The trailing header ${announced} announced in x-amz-trailer never came.`);
    }
    this.#finished = true;
  }

  /** The whole (small) body in memory: XML documents. */
  async readAll(limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.chunks(limit)) parts.push(c);
    return Buffer.concat(parts);
  }

  /** Read and drop whatever is left, so the connection can carry the next request. */
  async drain(limit: number): Promise<boolean> {
    if (this.#started) return this.#finished;
    try {
      for await (const _ of this.chunks(limit)) { /* discarded */ }
      return true;
    } catch {
      return false;
    }
  }
}
