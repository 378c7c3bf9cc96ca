// Events into Redis: access format appends to a list (RPUSH), namespace format keeps a hash of
// "bucket/key" → the object's last event. A batch is one MULTI, so it lands whole or not at all.
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_KEY, publishFailure, namespaceChange, recordsDocument, targetArn, type DeliveredEvent, type EventTarget, type TargetSpec } from './target.js';

const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 10_000;

export class RedisTarget implements EventTarget {
  readonly type = 'redis';
  readonly id: string;
  readonly arn: string;
  readonly describe: string;
  readonly #spec: TargetSpec;
  readonly #key: string;
  readonly #client: Redis;
  /** The connection being made, shared by publishes that start meanwhile. */
  #connecting: Promise<void> | null = null;
  /** The client's last error event, the cause of a failed connect. */
  #lastError: Error | null = null;
  #closed = false;

  constructor(spec: TargetSpec) {
    this.#spec = spec;
    this.id = spec.id;
    this.arn = targetArn('redis', spec.id);
    this.describe = spec.describe;
    this.#key = spec.key ?? DEFAULT_REDIS_KEY;
    const url = new URL(spec.url);
    this.#client = new Redis({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port: url.port === '' ? 6379 : Number(url.port),
      username: url.username === '' ? undefined : decodeURIComponent(url.username),
      password: url.password === '' ? undefined : decodeURIComponent(url.password),
      db: Number(url.pathname.slice(1) || 0),
      ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
      // Connect on the first publish, and again on the next one after a loss: no background
      // retries, and commands fail at once while disconnected instead of waiting in a queue,
      // because the caller keeps the batch and retries it itself.
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    // Failures reach the caller through the publish they break; unheard, ioredis prints each.
    this.#client.on('error', (err: Error) => { this.#lastError = err; });
    this.#client.on('ready', () => { this.#lastError = null; });
  }

  async publish(events: readonly DeliveredEvent[]): Promise<void> {
    try {
      if (this.#closed) throw new Error('the target is closed');
      const commands: string[][] = [];
      for (const event of events) {
        if (this.#spec.format === 'access') {
          commands.push(['rpush', this.#key, JSON.stringify({ Event: [event.record], EventTime: event.time.toISOString() })]);
        } else {
          const change = namespaceChange(event);
          if (change === 'remove') commands.push(['hdel', this.#key, event.key]);
          else if (change === 'set') commands.push(['hset', this.#key, event.key, recordsDocument(event)]);
        }
      }
      if (commands.length === 0) return;
      await this.#connected();
      const results = await this.#client.multi(commands).exec();
      if (results === null) throw new Error('the transaction was aborted');
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
    } catch (err) {
      throw publishFailure(this, this.#explained(err));
    }
  }

  /** ioredis words a connection that went away in terms of its own options and queues. */
  #explained(err: unknown): unknown {
    if (!(err instanceof Error) || !/^(Connection is closed|Stream isn't writeable)/.test(err.message)) return err;
    const why = this.#lastError ? ` (${this.#lastError.message})` : '';
    return new Error(`the connection to Redis was lost${why}`, { cause: err });
  }

  async #connected(): Promise<void> {
    if (this.#client.status === 'ready') return;
    if (this.#connecting === null) {
      this.#lastError = null;
      // A refused connection rejects only with "Connection is closed."; why is in the error event.
      this.#connecting = this.#client.connect()
        .catch((err: unknown) => { throw this.#lastError ?? err; })
        .finally(() => { this.#connecting = null; });
    }
    await this.#connecting;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // QUIT lets commands already sent finish; without a connection there is nothing to wait for.
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => this.#client.disconnect());
    else this.#client.disconnect();
  }
}
