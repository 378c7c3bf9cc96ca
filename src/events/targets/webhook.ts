// Events to an HTTP endpoint: one POST per event, in order, each waiting for the one before (the
// receiver sees them in the order they happened).
import { STATUS_CODES } from 'node:http';
import { Agent, request } from 'undici';
import { publishFailure, targetArn, type DeliveredEvent, type EventTarget, type TargetSpec } from './target.js';

const TIMEOUT_MS = 10_000;

export class WebhookTarget implements EventTarget {
  readonly type = 'webhook';
  readonly id: string;
  readonly arn: string;
  readonly describe: string;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  /** Its own connections, so that close() ends them. */
  readonly #agent = new Agent({ connect: { timeout: TIMEOUT_MS } });
  #closed = false;

  constructor(spec: TargetSpec) {
    this.id = spec.id;
    this.arn = targetArn('webhook', spec.id);
    this.describe = spec.describe;
    const url = new URL(spec.url);
    this.#headers = { 'content-type': 'application/json' };
    if (spec.token !== undefined) this.#headers.authorization = `Bearer ${spec.token}`;
    else if (url.username !== '' || url.password !== '') {
      // undici drops a URL's user and password; as curl does, they become Basic credentials.
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      this.#headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    url.username = '';
    url.password = '';
    this.#url = url.toString();
  }

  async publish(events: readonly DeliveredEvent[]): Promise<void> {
    let posted = 0;
    try {
      if (this.#closed) throw new Error('the target is closed');
      for (const event of events) {
        await this.#post(event);
        posted++;
      }
    } catch (err) {
      throw publishFailure(this, err, posted);
    }
  }

  async #post(event: DeliveredEvent): Promise<void> {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    try {
      const response = await request(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body: JSON.stringify({ EventName: event.eventName, Key: event.key, Records: [event.record] }),
        dispatcher: this.#agent,
        signal,
      });
      // Read to the end either way, so the connection can carry the next event.
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode > 299) {
        throw new Error(`the endpoint answered HTTP ${response.statusCode} ${STATUS_CODES[response.statusCode] ?? ''}`.trimEnd());
      }
    } catch (err) {
      if (signal.aborted) throw new Error(`the endpoint did not answer within ${TIMEOUT_MS / 1000} s`, { cause: err });
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.close();
  }
}
