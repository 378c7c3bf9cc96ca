// Events of changes that never passed through a gateway (FUSE mounts, SDK clients), derived from
// the volume's change log (gateway --events-from-volume). A change-log consumer ("events") keeps
// the log from being pruned past what was turned into events; its position moves in the same
// transaction that queues them, so each change becomes its events once, even with several
// gateways reading. Changes a gateway made queued their own events (their log entries are marked)
// and are skipped here.
import { EVENTS_QUEUED_MARK, ROOT_INODE, type ChangeEntry, type Meta, type QueuedEvent } from '../meta/meta.js';
import { bucketNameProblem } from '../gateway/names.js';
import type { EventOf, EventOrigin } from '../gateway/notifications.js';
import { decodeRecord, describeObject, RECORD_XATTR, recordIsCurrent } from '../gateway/record.js';
import { S_IFDIR, S_IFMT, S_IFREG } from '../vfs/constants.js';
import { Naps } from './naps.js';

export const VOLUME_EVENTS_CONSUMER = 'events';
/** Changes of an existing file's bytes (what makes it a new version of its object). */
const CONTENT_OPS = new Set(['write', 'truncate', 'clone', 'zero-range', 'allocate', 'import']);
const BATCH = 500;
/** Directory paths remembered, so deletions under a directory removed since still find their key. */
const DIR_PATHS_KEPT = 10_000;

export interface VolumeEventsOptions {
  meta: Meta;
  /** The queue rows of an event (the gateway's bucket configurations decide). */
  queued: (e: EventOf, origin: EventOrigin) => Promise<QueuedEvent[]>;
  onQueued: () => void;
  log: (message: string) => void;
  pollMs?: number;
}

interface Dentry { parent: number; name: string; ino?: number; type?: number }

export class VolumeEvents {
  #loop: Promise<void> | null = null;
  readonly #naps = new Naps();
  readonly #dirPaths = new Map<number, string>();

  constructor(private readonly o: VolumeEventsOptions) {}

  async start(): Promise<void> {
    const m = this.o.meta;
    if (!(await m.consumers()).some((c) => c.name === VOLUME_EVENTS_CONSUMER)) {
      // From now on: what changed before events were asked for is not news.
      await m.registerConsumer(VOLUME_EVENTS_CONSUMER, await m.version());
    }
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#naps.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#naps.closed) {
      let busy = false;
      try {
        busy = await this.step();
      } catch (err) {
        this.o.log(`events from the volume's change log: ${(err as Error).message}`);
      }
      if (!busy) await this.#naps.nap(this.o.pollMs ?? 250);
    }
  }

  /** Turn the next batch of log entries into queued events; true when there may be more. */
  async step(): Promise<boolean> {
    const m = this.o.meta;
    const from = (await m.consumers()).find((c) => c.name === VOLUME_EVENTS_CONSUMER)?.applied;
    if (from === undefined) throw new Error(`the change-log consumer "${VOLUME_EVENTS_CONSUMER}" was dropped; restart the gateway to register it again`);
    let entries: ChangeEntry[];
    try {
      entries = await m.changes(from, BATCH);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ESTALE') throw err;
      const now = await m.version();
      this.o.log(`EVENTS LOST: the change log was pruned past version ${from} before its changes became events (the volume's log retention bound forced it); changes up to version ${now} produce no events`);
      await m.queueEvents([], { consumer: VOLUME_EVENTS_CONSUMER, from, to: now });
      return true;
    }
    if (entries.length === 0) return false;
    // A file written through a mount is created, then written, maybe in several commits: one
    // event for what a batch did to a key, unless something else happened to it in between.
    const batch: { e: EventOf; origin: EventOrigin }[] = [];
    const last = new Map<string, number>();
    for (const entry of entries) {
      if (entry.op.endsWith(EVENTS_QUEUED_MARK)) continue;
      const origin: EventOrigin = { principalId: 'strata-volume', sourceIp: '', requestId: `v${entry.version}` };
      for (const e of await this.#eventsOf(entry)) {
        e.time = new Date(entry.timeMs);
        const id = `${e.bucket}/${e.key ?? ''}`;
        const before = last.get(id);
        if (before !== undefined && e.name === 's3:ObjectCreated:Put' && batch[before]!.e.name === e.name) {
          batch[before] = { e, origin };
          continue;
        }
        last.set(id, batch.length);
        batch.push({ e, origin });
      }
    }
    const rows: QueuedEvent[] = [];
    for (const { e, origin } of batch) rows.push(...await this.o.queued(e, origin));
    const to = entries[entries.length - 1]!.version;
    if (await m.queueEvents(rows, { consumer: VOLUME_EVENTS_CONSUMER, from, to }) && rows.length > 0) this.o.onQueued();
    return entries.length === BATCH;
  }

  /** The object events one committed change stands for. */
  async #eventsOf(entry: ChangeEntry): Promise<EventOf[]> {
    const puts: Dentry[] = [];
    const deletes: Dentry[] = [];
    const contents = new Set<number>();
    for (const r of entry.rows) {
      if (r.table === 'dentries') {
        const d = r.row as { parent: number; name: string; ino?: number; type?: number };
        (r.kind === 'put' ? puts : deletes).push(d);
        if (r.kind === 'put' && d.type === S_IFDIR) this.#rememberDir(d.ino!, d.parent, d.name);
      } else if (r.table === 'inodes' && r.kind === 'put' && CONTENT_OPS.has(entry.op)) {
        const n = r.row as { ino: number; mode: number };
        if ((n.mode & S_IFMT) === S_IFREG) contents.add(n.ino);
      }
    }
    const out: EventOf[] = [];
    const base = entry.op.replace(/\+.*$/, '');
    const movedDir = puts.some((p) => p.type === S_IFDIR);
    // Paths remembered below a directory that moved are wrong now.
    if (movedDir && base === 'rename') this.#dirPaths.clear();
    for (const d of deletes) {
      if (puts.some((p) => p.parent === d.parent && p.name === d.name)) continue;
      if (d.parent === ROOT_INODE) {
        if (base === 'rmdir' && bucketNameProblem(d.name) === null) out.push({ name: 's3:BucketRemoved', bucket: d.name });
        continue;
      }
      if (base === 'rmdir' || movedDir) continue;
      const where = await this.#keyOf(d.parent, d.name);
      if (where) out.push({ name: 's3:ObjectRemoved:Delete', ...where });
    }
    for (const p of puts) {
      if (p.parent === ROOT_INODE) {
        if (p.type === S_IFDIR && base === 'mkdir' && bucketNameProblem(p.name) === null) out.push({ name: 's3:BucketCreated', bucket: p.name });
        continue;
      }
      if (p.type !== S_IFREG) continue;
      const where = await this.#keyOf(p.parent, p.name);
      if (where) {
        const now = await this.#describe(p.ino!);
        out.push({ name: 's3:ObjectCreated:Put', ...where, size: now.size, etag: now.etag });
      }
      contents.delete(p.ino!);
    }
    for (const ino of contents) {
      const path = await this.o.meta.pathOf(ino).catch(() => null);
      const where = path === null ? null : splitKey(path);
      if (!where) continue;
      const now = await this.#describe(ino);
      // Bytes a gateway wrote into a staging file before renaming it to its key: that rename
      // queued the object's event already (its record describes the file as it is).
      if (now.byGateway) continue;
      out.push({ name: 's3:ObjectCreated:Put', ...where, size: now.size, etag: now.etag });
    }
    return out;
  }

  /** Size and ETag of the object as it is now (a later change has events of its own). */
  async #describe(ino: number): Promise<{ size?: number; etag?: string; byGateway?: boolean }> {
    try {
      const attr = await this.o.meta.getattr(ino);
      const record = decodeRecord(await this.o.meta.getxattr(ino, RECORD_XATTR).catch(() => null));
      const { size, etag } = describeObject(attr, record);
      return { size, etag, byGateway: recordIsCurrent(attr, record) };
    } catch {
      // Gone already (deleted since): its deletion has an event of its own.
      return {};
    }
  }

  #rememberDir(ino: number, parent: number, name: string): void {
    const above = parent === ROOT_INODE ? '' : this.#dirPaths.get(parent);
    if (above === undefined) return;
    if (this.#dirPaths.size >= DIR_PATHS_KEPT) this.#dirPaths.clear();
    this.#dirPaths.set(ino, `${above}/${name}`);
  }

  async #keyOf(parent: number, name: string): Promise<{ bucket: string; key: string } | null> {
    let dir = this.#dirPaths.get(parent);
    if (dir === undefined) {
      const found = await this.o.meta.pathOf(parent).catch(() => null);
      if (found === null) return null;
      dir = found;
      if (this.#dirPaths.size >= DIR_PATHS_KEPT) this.#dirPaths.clear();
      this.#dirPaths.set(parent, dir);
    }
    return splitKey(`${dir}/${name}`);
  }
}

/** "/bucket/a/b" → bucket and key, when the bucket's name is one S3 allows. */
function splitKey(path: string): { bucket: string; key: string } | null {
  const parts = path.split('/').slice(1);
  if (parts.length < 2 || bucketNameProblem(parts[0]!) !== null) return null;
  return { bucket: parts[0]!, key: parts.slice(1).join('/') };
}
