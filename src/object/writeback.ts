// Write-back: a put lands in a local staging directory and returns, so metadata can commit at
// once; a background uploader copies staged objects to the real store and removes them. Reads
// look in the staging directory first. Staged objects left by a crash are found and uploaded
// when the store is opened again. Objects are immutable, so a staged copy is never stale.
//
// Staged data lives only on this host until uploaded: other hosts (and processes of this host
// that stage elsewhere) see the metadata before they can read the bytes.
import { errnoError } from '../errors/errno.js';
import { FileObjectStore } from './file.js';
import type { ByteRange, GetIntoOptions, ListOptions, ListPage, ObjectInfo, ObjectStore } from './store.js';

export interface WritebackOptions {
  /** Uploads running at once (default 20). */
  maxUploads?: number;
  /** Called for uploads that failed and will be tried again (logging). */
  onError?: (key: string, err: unknown) => void;
}

export interface WritebackStats {
  /** Objects staged and not uploaded yet. */
  stagedObjects: number;
  stagedBytes: number;
  uploadedObjects: number;
  uploadErrors: number;
}

const MAX_RETRY_DELAY_MS = 30_000;

function isAbsent(err: unknown): boolean {
  return (err as { code?: string }).code === 'ENOENT';
}

export class WritebackObjectStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #staged: FileObjectStore;
  readonly #maxUploads: number;
  readonly #onError: (key: string, err: unknown) => void;
  /** Staged keys waiting for an upload slot, with their sizes. */
  readonly #queue = new Map<string, number>();
  /** Uploads under way. */
  readonly #uploading = new Map<string, Promise<void>>();
  #stagedBytes = 0;
  #uploaded = 0;
  #errors = 0;
  #closed = false;
  #idle: (() => void)[] = [];
  /** Resolves once the staged objects found at start are queued. */
  readonly recovered: Promise<number>;

  private constructor(inner: ObjectStore, staged: FileObjectStore, options: WritebackOptions) {
    this.#inner = inner;
    this.#staged = staged;
    this.#maxUploads = options.maxUploads ?? 20;
    this.#onError = options.onError ?? (() => undefined);
    this.recovered = this.#recover();
  }

  /** Stage in `dir` (created if missing) in front of `inner`; closing this closes `inner`. */
  static async open(inner: ObjectStore, dir: string, options: WritebackOptions = {}): Promise<WritebackObjectStore> {
    const staged = await FileObjectStore.open(dir, { create: true, durable: false });
    return new WritebackObjectStore(inner, staged, options);
  }

  stats(): WritebackStats {
    return { stagedObjects: this.#queue.size + this.#uploading.size, stagedBytes: this.#stagedBytes, uploadedObjects: this.#uploaded, uploadErrors: this.#errors };
  }

  async put(key: string, data: Uint8Array | Uint8Array[]): Promise<void> {
    this.#live('put', key);
    await this.#staged.put(key, data);
    const size = Array.isArray(data) ? data.reduce((n, p) => n + p.byteLength, 0) : data.byteLength;
    if (!this.#queue.has(key) && !this.#uploading.has(key)) this.#stagedBytes += size;
    this.#queue.set(key, size);
    this.#pump();
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    try {
      return await this.#staged.get(key, range);
    } catch (err) {
      if (!isAbsent(err)) throw err;
    }
    return this.#inner.get(key, range);
  }

  async getInto(key: string, offset: number, target: Uint8Array, options?: GetIntoOptions): Promise<number> {
    try {
      return await this.#staged.getInto(key, offset, target, options);
    } catch (err) {
      if (!isAbsent(err)) throw err;
    }
    return this.#inner.getInto(key, offset, target, options);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.#staged.head(key)) ?? this.#inner.head(key);
  }

  async delete(key: string): Promise<void> {
    const size = this.#queue.get(key);
    if (size !== undefined) {
      this.#queue.delete(key);
      this.#stagedBytes -= size;
    }
    // An upload under way would store the object after this delete: let it finish first.
    await this.#uploading.get(key)?.catch(() => undefined);
    await this.#staged.delete(key);
    await this.#inner.delete(key);
  }

  /** The real store's listing: objects still staged are not in it yet. */
  list(options?: ListOptions): Promise<ListPage> {
    return this.#inner.list(options);
  }

  describe(): string {
    return this.#inner.describe();
  }

  /** Every staged object has been uploaded (or has failed its current attempt). */
  async drain(): Promise<void> {
    await this.recovered;
    while (this.#queue.size > 0 || this.#uploading.size > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  /** Uploads what is staged (as long as the store takes it), then closes both stores. What could
   * not be uploaded stays staged for the next open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#settle();
    this.#closed = true;
    await this.#staged.close();
    await this.#inner.close();
  }

  /** Wait until nothing is queued except what failed: every key gets at least one more try. */
  async #settle(): Promise<void> {
    await this.recovered;
    const tried = new Set<string>();
    while (this.#uploading.size > 0 || [...this.#queue.keys()].some((k) => !tried.has(k))) {
      for (const k of this.#queue.keys()) tried.add(k);
      this.#retryNow = true;
      this.#pump();
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  #retryNow = false;
  readonly #notBefore = new Map<string, number>();

  #live(syscall: string, key: string): void {
    if (this.#closed) throw errnoError('EBADF', syscall, key, 'the object store is closed');
  }

  #pump(): void {
    const now = Date.now();
    for (const [key, size] of this.#queue) {
      if (this.#uploading.size >= this.#maxUploads) break;
      if (!this.#retryNow && (this.#notBefore.get(key) ?? 0) > now) continue;
      this.#queue.delete(key);
      const job = this.#upload(key, size).finally(() => {
        this.#uploading.delete(key);
        this.#pump();
        if (this.#uploading.size === 0) for (const wake of this.#idle.splice(0)) wake();
      });
      this.#uploading.set(key, job);
    }
    if (this.#uploading.size === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  async #upload(key: string, size: number): Promise<void> {
    try {
      let bytes: Buffer;
      try {
        bytes = await this.#staged.get(key);
      } catch (err) {
        // Deleted meanwhile: nothing to upload.
        if (isAbsent(err)) {
          this.#stagedBytes -= size;
          return;
        }
        throw err;
      }
      await this.#inner.put(key, bytes);
      await this.#staged.delete(key);
      this.#stagedBytes -= size;
      this.#uploaded++;
      this.#notBefore.delete(key);
    } catch (err) {
      this.#errors++;
      this.#onError(key, err);
      // Try again later, backing off; the staged copy keeps serving reads meanwhile.
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.#notBefore.set(key, Date.now() + Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** failures));
      this.#queue.set(key, size);
      if (!this.#closed) setTimeout(() => this.#pump(), Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** failures)).unref();
    }
  }

  readonly #failures = new Map<string, number>();

  /** Queue what an earlier run staged and did not upload. */
  async #recover(): Promise<number> {
    let found = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.#staged.list({ startAfter });
      for (const o of page.objects) {
        if (this.#queue.has(o.key) || this.#uploading.has(o.key)) continue;
        this.#queue.set(o.key, o.size);
        this.#stagedBytes += o.size;
        found++;
      }
      if (!page.truncated) break;
      startAfter = page.next;
    }
    this.#pump();
    return found;
  }
}
