// ObjectStore over one S3 bucket (AWS or any S3-compatible service). Every request goes through
// Strata's retries (retry.ts) with the SDK's own turned off; failures come out as errno errors
// naming the key (s3-errors.ts). A key prefix from the storage URL is applied by wrapping this
// store in PrefixedObjectStore (see open.ts), so keys here are bucket keys.
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errnoError } from '../errors/errno.js';
import { checkRetryPolicy, withRetries, type Attempt, type RetryPolicy } from './retry.js';
import { createS3Client, regionOf, whereOf, type S3Location } from './s3-client.js';
import { classifyS3Error, s3CodeOf, statusOf, TransientError } from './s3-errors.js';
import { listPage, type RawListPage } from './s3-list.js';
import {
  checkKey,
  checkListOptions,
  checkRange,
  partsOf,
  type ByteRange,
  type GetIntoOptions,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
} from './store.js';

export interface S3StoreOptions extends S3Location {
  /** Retries after a failed request before the caller gets EIO (default 10). */
  ioRetries?: number;
  /** An attempt unfinished after this long is aborted and retried (default 60 s). */
  requestTimeoutMs?: number;
  /** Backoff bounds (see RetryPolicy). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Create the bucket when it does not exist (default false: ENOENT naming it). */
  create?: boolean;
  /** Where AWS_* variables are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #where: string;
  readonly #policy: RetryPolicy;
  #closed = false;

  /** Prefer S3ObjectStore.open, which checks that the bucket exists and may be used. */
  constructor(options: S3StoreOptions) {
    this.#policy = checkRetryPolicy({
      retries: options.ioRetries, timeoutMs: options.requestTimeoutMs, baseDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs,
    });
    this.#client = createS3Client(options, options.env ?? process.env);
    this.bucket = options.bucket;
    this.#where = whereOf(options);
  }

  /** A store over `options.bucket`: ENOENT naming the bucket when missing (unless `create`),
   * EACCES with a hint when the credentials are refused. */
  static async open(options: S3StoreOptions): Promise<S3ObjectStore> {
    const store = new S3ObjectStore(options);
    try {
      await store.#checkBucket(options.create === true, regionOf(options, options.env ?? process.env));
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  async #checkBucket(create: boolean, region: string): Promise<void> {
    const exists = await this.#retry('open', undefined, async ({ signal }) => {
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    });
    if (exists) return;
    if (!create) {
      throw errnoError('ENOENT', 'open', this.#where, `bucket "${this.bucket}" does not exist; create it, or let "strata format" create it`);
    }
    await this.#retry('open', undefined, async ({ signal }) => {
      try {
        await this.#client.send(new CreateBucketCommand({
          Bucket: this.bucket,
          ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}),
        }), { abortSignal: signal });
      } catch (err) {
        // A retried create whose first attempt did succeed.
        if (s3CodeOf(err) === 'BucketAlreadyOwnedByYou') return;
        if (s3CodeOf(err) === 'BucketAlreadyExists') throw errnoError('EEXIST', 'open', this.#where, `bucket "${this.bucket}" belongs to another account; choose another bucket name`, err);
        throw err;
      }
    });
  }

  describe(): string {
    return this.#where;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #check(key: string, syscall: string): void {
    if (this.#closed) throw errnoError('EBADF', syscall, key, `object store ${this.#where} is closed`);
    checkKey(key, syscall);
  }

  #retry<T>(op: string, key: string | undefined, fn: (a: Attempt) => Promise<T>): Promise<T> {
    const ctx = { op, key, bucket: this.bucket, where: this.#where };
    return withRetries(this.#policy, ctx, fn, (err) => classifyS3Error(err, ctx));
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.#check(key, 'get');
    if (range !== undefined) checkRange(key, range, 'get');
    if (range?.length === 0) return this.#exists(key, 'get').then(() => Buffer.alloc(0));
    let buf = Buffer.alloc(0);
    const n = await this.#retry('get', key, (a) => this.#fetch(key, range, a, (size) => (buf = Buffer.allocUnsafe(size))));
    return n === buf.length ? buf : buf.subarray(0, n);
  }

  async getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    this.#check(key, 'get');
    if (!(target instanceof Uint8Array)) throw new TypeError(`getInto target for ${JSON.stringify(key)} must be a Uint8Array`);
    checkRange(key, { offset, length: target.byteLength }, 'get');
    if (target.byteLength === 0) return this.#exists(key, 'get').then(() => 0);
    return this.#retry('get', key, (a) => this.#fetch(key, { offset, length: target.byteLength }, a, () => target, options?.etag));
  }

  /** ENOENT unless `key` exists (reads of zero bytes cannot be asked for as a Range). */
  async #exists(key: string, op: string): Promise<void> {
    if ((await this.#head(key, op)) === undefined) throw errnoError('ENOENT', op, key, `no object with this key in ${this.#where}`);
  }

  /**
   * One GET attempt: the body goes straight into the buffer `sink` returns for the body's length.
   * Nothing is written once the attempt is aborted, so a timed-out attempt cannot scribble on the
   * caller's memory while the next one fills it.
   */
  async #fetch(key: string, range: ByteRange | undefined, { signal }: Attempt, sink: (size: number) => Uint8Array, etag?: string): Promise<number> {
    let res;
    try {
      // If-Match where the service honours it; the answer's ETag is checked below either way.
      res = await this.#client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        ...(etag !== undefined ? { IfMatch: `"${etag}"` } : {}),
      }), { abortSignal: signal });
    } catch (err) {
      if (etag !== undefined && statusOf(err) === 412) throw changedObject(key, etag);
      // Starts at or past the end: the object exists and has no bytes there.
      if (range && statusOf(err) === 416) return 0;
      throw err;
    }
    if (etag !== undefined && unquote(res.ETag) !== etag) {
      (res.Body as Readable | undefined)?.destroy();
      throw changedObject(key, etag);
    }
    const body = res.Body as Readable | undefined;
    const onAbort = () => body?.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const start = res.ContentRange ? Number(/^bytes (\d+)-/.exec(res.ContentRange)?.[1]) : 0;
      if (start !== (range?.offset ?? 0)) {
        throw errnoError('EIO', 'get', key, `${this.#where} answered a read from byte ${range?.offset ?? 0} with bytes from ${String(start)}`);
      }
      const size = Math.min(res.ContentLength ?? 0, range?.length ?? Infinity);
      const target = sink(size);
      let n = 0;
      if (body) {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (signal.aborted) throw signal.reason;
          const take = Math.min(chunk.length, target.byteLength - n);
          target.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
          n += take;
          // More than was asked for: a server that ignored the range's end. The rest is dropped
          // with the connection; otherwise the body is read to its end so the socket is reused.
          if (take < chunk.length) break;
        }
      }
      if (signal.aborted) throw signal.reason;
      if (n < size) throw new TransientError(`the body ended after ${n} of ${size} bytes`);
      return n;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (body && !body.readableEnded) body.destroy();
    }
  }

  async put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    this.#check(key, 'put');
    const parts = partsOf(data);
    const body = parts.length === 1 ? asBuffer(parts[0]) : Buffer.concat(parts);
    await this.#retry('put', key, ({ signal }) =>
      this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }), { abortSignal: signal }));
  }

  async delete(key: string): Promise<void> {
    this.#check(key, 'delete');
    await this.#retry('delete', key, async ({ signal }) => {
      try {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      } catch (err) {
        // S3 answers 204 for a missing key; some compatible services say NoSuchKey.
        if (s3CodeOf(err) === 'NoSuchKey') return;
        throw err;
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#check(key, 'head');
    return this.#head(key, 'head');
  }

  #head(key: string, op: string): Promise<ObjectInfo | undefined> {
    return this.#retry(op, key, async ({ signal }) => {
      try {
        const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
        return { key, size: res.ContentLength ?? 0, mtime: res.LastModified ?? new Date(0), etag: unquote(res.ETag) };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    });
  }

  async list(options?: ListOptions): Promise<ListPage> {
    if (this.#closed) throw errnoError('EBADF', 'list', undefined, `object store ${this.#where} is closed`);
    const o = checkListOptions(options);
    return listPage(o, (prefix, startAfter, maxKeys) => this.#retry('list', o.prefix === '' ? undefined : o.prefix, ({ signal }) => this.#listOnce(prefix, startAfter, o.delimiter, maxKeys, signal)));
  }

  async #listOnce(prefix: string, startAfter: string | undefined, delimiter: string | undefined, maxKeys: number, signal: AbortSignal): Promise<RawListPage> {
    const res = await this.#client.send(new ListObjectsV2Command({
      Bucket: this.bucket, MaxKeys: maxKeys, EncodingType: 'url',
      ...(prefix !== '' ? { Prefix: prefix } : {}),
      ...(startAfter !== undefined && startAfter !== '' ? { StartAfter: startAfter } : {}),
      ...(delimiter !== undefined ? { Delimiter: delimiter } : {}),
    }), { abortSignal: signal });
    // Keys that XML cannot carry come back %-escaped when the service honours EncodingType.
    const decode = res.EncodingType === 'url' ? urlDecode : (s: string) => s;
    return {
      objects: (res.Contents ?? []).map((c) => ({ key: decode(c.Key ?? ''), size: c.Size ?? 0, mtime: c.LastModified ?? new Date(0), etag: unquote(c.ETag) })),
      prefixes: (res.CommonPrefixes ?? []).map((p) => decode(p.Prefix ?? '')),
      truncated: res.IsTruncated === true,
    };
  }
}

function urlDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new TransientError(`the listing held a key that is not valid %-encoding: ${JSON.stringify(s)}`);
  }
}

/** The bytes of a Uint8Array as a Buffer, without copying. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** An ETag as S3 sends it ("abc" with the quotes), without them. */
function unquote(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^(W\/)?"(.*)"$/, '$2');
}

function changedObject(key: string, etag: string): Error {
  return errnoError('ESTALE', 'get', key, `the object is not the version expected (ETag ${etag}): it changed`);
}
