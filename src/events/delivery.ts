// Delivery of queued event notifications: one loop per target takes the oldest events of its
// queue (in the volume's metadata) while it holds the target's lease, so among several gateways
// one delivers at a time and events keep their order; publishes them; and only then removes them
// from the queue. A target that fails is retried with exponential backoff while its events wait;
// a crash between publishing and removing sends them again (at least once, never zero times).
import type { EventTargetStats, Meta, PendingEvent } from '../meta/meta.js';
import { counter, incrementer, Sampled } from '../metrics/registry.js';
import { Naps } from './naps.js';
import { withSequencer, type S3EventRecord } from './record.js';
import type { DeliveredEvent, EventTarget, PublishError } from './targets/target.js';

export interface DeliveryOptions {
  meta: Meta;
  targets: readonly EventTarget[];
  /** This gateway, as the lease names it. */
  holder: string;
  /** Events a target's queue keeps at most: beyond, the oldest are dropped (counted, logged). */
  queueMax: number;
  log: (message: string) => void;
  /** How long a lease lasts without renewal (another gateway takes over after). */
  leaseMs?: number;
  batch?: number;
  /** How often an idle loop looks at its queue when nothing pokes it. */
  pollMs?: number;
  /** How long an idle loop, once poked, lets events gather before taking them: one claim and
   * one settle then serve many changes instead of each (they share the metadata engine with the
   * requests that make them). */
  gatherMs?: number;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

export const DEFAULT_QUEUE_MAX = 1_000_000;
const TRIM_EVERY_MS = 2_000;
/** A target that keeps failing is reported at most this often. */
const REPORT_EVERY_MS = 60_000;

const delivered = counter('strata_events_delivered_total', 'Event notifications delivered, by target', ['target']);
const failures = counter('strata_events_failed_total', 'Failed deliveries of event notifications, by target', ['target']);
const drops = counter('strata_events_dropped_total', 'Event notifications dropped because the queue was full, by target', ['target']);
// Levels of the volume's queue, read when scraped (every gateway of the volume reports the same).
const queued = new Sampled<'target'>('gauge', 'strata_events_queued', 'Event notifications waiting in the volume\'s queue, by target', ['target'], 'max');
const oldest = new Sampled<'target'>('gauge', 'strata_events_oldest_pending_seconds', 'Age of the oldest event notification waiting, by target', ['target'], 'max');

export class EventDelivery {
  readonly #naps = new Naps();
  readonly #loops: Promise<void>[] = [];

  constructor(private readonly o: DeliveryOptions) {}

  readonly #unsample: (() => void)[] = [];
  /** One read of the queue serves every gauge of a scrape. */
  #scraped: { at: number; stats: Promise<EventTargetStats[]> } | null = null;

  #scrapedStats(): Promise<EventTargetStats[]> {
    if (!this.#scraped || Date.now() - this.#scraped.at > 1000) this.#scraped = { at: Date.now(), stats: this.o.meta.eventStats() };
    return this.#scraped.stats;
  }

  start(): void {
    this.#loops.push(this.#trimAll());
    for (const t of this.o.targets) {
      this.#loops.push(this.#run(t));
      const stats = async () => (await this.#scrapedStats()).find((s) => s.target === t.id);
      this.#unsample.push(
        queued.add({ target: t.id }, async () => (await stats())?.depth ?? 0),
        oldest.add({ target: t.id }, async () => {
          const at = (await stats())?.oldestMs;
          return at === null || at === undefined ? 0 : (Date.now() - at) / 1000;
        }),
      );
    }
  }

  /** Events were queued: look now rather than at the next poll. */
  poke(): void {
    this.#naps.poke();
  }

  async close(): Promise<void> {
    this.#naps.close();
    for (const stop of this.#unsample.splice(0)) stop();
    // Closing the targets ends publishes in flight (their events stay queued for the next holder).
    await Promise.all(this.o.targets.map((t) => t.close().catch(() => undefined)));
    await Promise.all(this.#loops);
  }

  async #run(t: EventTarget): Promise<void> {
    const o = this.o;
    const leaseMs = o.leaseMs ?? 10_000;
    const first = o.firstBackoffMs ?? 200;
    const max = o.maxBackoffMs ?? 30_000;
    const counted = { delivered: incrementer(delivered, { target: t.id }), failed: incrementer(failures, { target: t.id }) };
    let backoff = first;
    let failingSince: number | null = null;
    let lastReport = 0;
    let failedMeanwhile = 0;
    while (!this.#naps.closed) {
      try {
        const batch = await o.meta.claimEvents(t.id, o.holder, leaseMs, o.batch ?? 100);
        if (batch === null) {
          // Another gateway delivers for this target; take over if its lease lapses.
          await this.#naps.nap(leaseMs / 2);
          continue;
        }
        if (batch.length === 0) {
          await this.#naps.nap(o.pollMs ?? 1_000, true);
          await this.#naps.nap(o.gatherMs ?? 200);
          continue;
        }
        // The lease is renewed while the target takes its time, so no other gateway starts on the
        // same events meanwhile (which would deliver them twice and out of order).
        const renew = setInterval(() => void o.meta.claimEvents(t.id, o.holder, leaseMs, 0).catch(() => undefined), leaseMs / 3);
        try {
          await t.publish(batch.map(toDelivered));
        } catch (err) {
          counted.failed.inc();
          failedMeanwhile++;
          // What the target took before it failed is not sent again (fewer duplicates).
          const took = batch.slice(0, (err as Partial<PublishError>).delivered ?? 0).map((e) => e.seq);
          await o.meta.settleEvents(t.id, took, 1).catch(() => undefined);
          counted.delivered.inc(took.length);
          const now = Date.now();
          failingSince ??= now;
          if (now - lastReport >= REPORT_EVERY_MS) {
            lastReport = now;
            o.log(`events for target ${t.arn} (${t.describe}) are not delivered (${failedMeanwhile} failed attempt(s) since ${new Date(failingSince).toISOString()}); they stay queued and are retried: ${(err as Error).message}`);
            failedMeanwhile = 0;
          }
          await this.#naps.nap(backoff);
          backoff = Math.min(backoff * 2, max);
          continue;
        } finally {
          clearInterval(renew);
        }
        await o.meta.settleEvents(t.id, batch.map((e) => e.seq), 0);
        counted.delivered.inc(batch.length);
        if (failingSince !== null) {
          o.log(`events for target ${t.arn} are delivered again (failing since ${new Date(failingSince).toISOString()})`);
          failingSince = null;
          lastReport = 0;
          failedMeanwhile = 0;
        }
        backoff = first;
      } catch (err) {
        // The metadata engine itself failed: nothing is lost (the events stay queued); try again.
        o.log(`event delivery for target ${t.arn} could not reach the volume's metadata: ${(err as Error).message}`);
        await this.#naps.nap(Math.min(backoff * 5, max));
      }
    }
  }

  /** Every queue of the volume stays within its bound, whichever gateway delivers it, if any
   * does (a rule may name a target no running gateway was started with). */
  async #trimAll(): Promise<void> {
    const o = this.o;
    while (!this.#naps.closed) {
      try {
        // Only queues over their bound take a trim's write transaction.
        for (const { target, depth } of await o.meta.eventStats()) {
          if (depth <= o.queueMax) continue;
          const dropped = await o.meta.trimEvents(target, o.queueMax);
          if (dropped === 0) continue;
          incrementer(drops, { target }).inc(dropped);
          const served = o.targets.find((t) => t.id === target);
          o.log(`EVENTS DROPPED: the queue of target ${served ? `${served.arn} (${served.describe})` : `"${target}" (no target of this gateway)`} is over its bound of ${o.queueMax}: the oldest ${dropped} event(s) were dropped and will never be delivered; raise --events-queue-max or bring the target back`);
        }
      } catch (err) {
        o.log(`the event queue could not be trimmed: ${(err as Error).message}`);
      }
      await this.#naps.nap(TRIM_EVERY_MS);
    }
  }
}

export function toDelivered(e: PendingEvent): DeliveredEvent {
  const record = withSequencer(JSON.parse(e.body) as S3EventRecord, e.seq);
  return {
    key: e.key,
    object: record.s3.object !== undefined,
    eventName: `s3:${String(record.eventName)}`,
    record,
    time: new Date(String(record.eventTime)),
  };
}
