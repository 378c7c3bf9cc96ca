// Bucket notification configurations (kept in a trusted xattr of the bucket's directory, so every
// gateway of the volume uses the same) and the queue rows an event becomes: one per matching
// rule, built before the change commits so they commit with it.
import { errorCode } from '../errors/errno.js';
import { REFRESH_MS } from '../iam/store.js';
import type { QueuedEvent } from '../meta/meta.js';
import { decodeNotificationConfig, matchingRules, type NotificationConfig } from '../events/config.js';
import { s3EventRecord } from '../events/record.js';
import { fromCoreError } from './errors.js';
import type { GatewayVolume } from './volume.js';

export const NOTIFICATION_XATTR = 'trusted.s3.notification';

/** A notification target as the gateway knows it. */
export interface NotifyTarget {
  id: string;
  arn: string;
}

/** An event the gateway is about to make happen. */
export interface EventOf {
  name: string;
  bucket: string;
  key?: string;
  size?: number;
  etag?: string;
  /** When it happened (default: now). */
  time?: Date;
}

/** Who asked for it. */
export interface EventOrigin {
  principalId: string;
  sourceIp: string;
  requestId: string;
}

/** Bucket events are no bucket's configuration: every target is told of them. */
const BUCKET_EVENTS_RULE = 'strata-bucket-events';

export class Notifications {
  readonly #cache = new Map<string, { at: number; config: NotificationConfig }>();
  readonly #byArn: Map<string, NotifyTarget>;

  constructor(private readonly gv: GatewayVolume, readonly targets: readonly NotifyTarget[], private readonly region: string,
    private readonly ownerId: string, private readonly now: () => number = Date.now) {
    this.#byArn = new Map(targets.map((t) => [t.arn, t]));
  }

  get arns(): ReadonlySet<string> {
    return new Set(this.#byArn.keys());
  }

  /** The bucket's configuration (empty when it has none); a change made through another gateway
   * is seen within REFRESH_MS, one made here at once. */
  async config(bucket: string, ino?: number): Promise<NotificationConfig> {
    const hit = this.#cache.get(bucket);
    if (hit && this.now() - hit.at < REFRESH_MS) return hit.config;
    const config = await this.#read(bucket, ino);
    this.#cache.set(bucket, { at: this.now(), config });
    return config;
  }

  async #read(bucket: string, ino?: number): Promise<NotificationConfig> {
    const { vfs, caller } = this.gv.system;
    try {
      const dir = ino ?? (await this.gv.resolve(`/${bucket}`))?.ino;
      if (dir === undefined) return { rules: [] };
      return decodeNotificationConfig(Buffer.from(await vfs.getxattr(caller, dir, NOTIFICATION_XATTR)).toString());
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENODATA' || code === 'ENOENT') return { rules: [] };
      throw fromCoreError(err);
    }
  }

  /** The bucket is gone: a bucket made under its name starts with no configuration. */
  forget(bucket: string): void {
    this.#cache.delete(bucket);
  }

  async setConfig(bucket: string, ino: number, config: NotificationConfig): Promise<void> {
    const { vfs, caller } = this.gv.system;
    try {
      if (config.rules.length === 0) await vfs.removexattr(caller, ino, NOTIFICATION_XATTR).catch((err: unknown) => { if (errorCode(err) !== 'ENODATA') throw err; });
      else await vfs.setxattr(caller, ino, NOTIFICATION_XATTR, Buffer.from(JSON.stringify(config)), 0);
    } catch (err) {
      throw fromCoreError(err);
    }
    this.#cache.set(bucket, { at: this.now(), config });
  }

  /** Told whenever events were queued (the delivery loop, so it need not wait for its poll). */
  onQueued: () => void = () => undefined;

  /** Queue the notifications of events that already happened, in a transaction of their own. */
  async queueAfter(events: readonly EventOf[], origin: EventOrigin): Promise<void> {
    const rows = (await Promise.all(events.map((e) => this.queued(e, origin)))).flat();
    if (rows.length === 0) return;
    await this.gv.system.vfs.meta.queueEvents(rows);
    this.onQueued();
  }

  /** The queue rows for `e` (none when no rule asks for it). */
  async queued(e: EventOf, origin: EventOrigin): Promise<QueuedEvent[]> {
    const time = e.time ?? new Date(this.now());
    const facts = { ...e, time, region: this.region, ...origin, ownerId: this.ownerId };
    if (e.key === undefined) {
      // Bucket events belong to no bucket's rules: this gateway's targets get them.
      return this.targets.map((t) => ({ target: t.id, key: e.bucket, body: JSON.stringify(s3EventRecord({ ...facts, configurationId: BUCKET_EVENTS_RULE })) }));
    }
    const config = await this.config(e.bucket);
    const out: QueuedEvent[] = [];
    for (const rule of matchingRules(config, e.name, e.key)) {
      // Queued by the ARN's id even when this gateway was not started with that target (or with
      // none): another gateway of the volume may deliver to it.
      const target = this.#byArn.get(rule.arn) ?? { id: rule.arn.split(':')[4] ?? rule.arn };
      out.push({ target: target.id, key: `${e.bucket}/${e.key}`, body: JSON.stringify(s3EventRecord({ ...facts, configurationId: rule.id })) });
    }
    return out;
  }
}
