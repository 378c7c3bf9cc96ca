// A process's membership in a cache group: it registers (when sharing), learns the members from
// metadata, places block keys on them (ring.ts), and answers the data path's BlockPeers calls:
// ask the owner, then the backup, then (for a while after a join) the owner before the join;
// send what came from object storage to the owner (and backup) in the background.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { allocBuffer, releaseBuffer } from '../hotpath/index.js';
import { BLOCK_BUFFER_EXTRA, fetchVerifiedInto } from '../chunk/blocks.js';
import { cacheSums, piecesMatch } from '../chunk/cache-file.js';
import type { DiskCache } from '../chunk/disk-cache.js';
import { blockCacheLatency } from '../chunk/metrics.js';
import { observer, type Observer } from '../metrics/registry.js';
import type { BlockPeers, PeerStats } from '../chunk/peers.js';
import { errnoError } from '../errors/errno.js';
import type { GroupMember, Meta } from '../meta/meta.js';
import type { ObjectStore } from '../object/store.js';
import { Peer, type PeerTimeouts } from './peer.js';
import { rank } from './ring.js';
import { loadGroupSecret } from './secret.js';
import { GroupServer } from './server.js';
import { GroupKey } from './token.js';
import { blockOf, pieceCount, type Loaded } from './wire.js';

export interface CacheGroupOptions {
  name: string;
  /** Serve this process's disk cache to the group (false: take from it, serve nothing). */
  sharing?: boolean;
  /** Share of the keys relative to other members (default: the cache size in GiB, at least 1). */
  weight?: number;
  /** Ask the group to keep a second copy of every block. */
  backup?: boolean;
  /** host:port to listen on when sharing (default 0.0.0.0 on a free port). */
  listen?: string;
  /** host:port peers reach this member at (default: the listen address, or this host's name). */
  address?: string;
  heartbeatMs?: number;
  /** A member silent this long is no longer asked (default 5 heartbeats, at least 10 s). */
  staleMs?: number;
  /** After a member joins, owners from before the join are asked for this long (default 10
   * minutes; 0: never). */
  handoffMs?: number;
  /** Connect timeout to a member (default 200 ms), and for its answer to start (default 1 s). */
  connectTimeoutMs?: number;
  answerTimeoutMs?: number;
  /** The key that seals the group secret (STRATA_KEY), when the volume's clients have one. */
  sealingKey?: string;
  /** The volume's name, which labels the group's metrics. */
  volume?: string;
}

interface Known extends GroupMember {
  peer: Peer | null;
}

// Members that join within this of each other count as one join (started together).
const JOIN_GAP_MS = 5_000;
// Blocks being sent to owners hold copies in memory: bounded, excess is skipped.
const MAX_OFFER_BYTES = 64 * 1024 * 1024;
const SUM_BYTES = 8;
const FORGET_AFTER_MS = 3_600_000;

export class CacheGroup implements BlockPeers {
  readonly id = randomBytes(8).toString('hex');
  readonly sharing: boolean;
  readonly #o: Required<Omit<CacheGroupOptions, 'weight' | 'listen' | 'address' | 'sealingKey' | 'volume'>>;
  readonly #key: GroupKey;
  #members: Known[] = [];
  /** Members whose requests failed, with the heartbeat they had then: skipped until it moves on
   * and a ping answers. */
  readonly #down = new Map<string, number>();
  #server: GroupServer | null = null;
  #cache: DiskCache | null = null;
  #self: Omit<GroupMember, 'heartbeatMs'> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #offerBytes = 0;
  readonly #offering = new Set<string>();
  readonly #loading = new Map<string, Promise<Loaded>>();
  #closed = false;
  readonly #stats = { remoteHits: 0, remoteFills: 0, remoteMisses: 0, remoteCorrupt: 0, remoteErrors: 0, remoteOffers: 0, remoteOfferSkips: 0, storeFills: 0, reads: 0, readMs: 0, readMsMax: 0 };
  readonly #timeouts: PeerTimeouts;

  readonly #readTime: Observer;
  readonly #writeTime: Observer;

  private constructor(private readonly meta: Meta, private readonly objects: ObjectStore, private readonly options: CacheGroupOptions, secret: string) {
    this.sharing = options.sharing ?? true;
    const heartbeatMs = options.heartbeatMs ?? 2_000;
    this.#o = {
      name: options.name, sharing: this.sharing, backup: options.backup ?? false, heartbeatMs,
      staleMs: options.staleMs ?? Math.max(10_000, 5 * heartbeatMs), handoffMs: options.handoffMs ?? 600_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 200, answerTimeoutMs: options.answerTimeoutMs ?? 1_000,
    };
    this.#timeouts = { connectMs: this.#o.connectTimeoutMs, answerMs: this.#o.answerTimeoutMs };
    this.#key = new GroupKey(secret, options.name);
    const volume = options.volume ?? 'default';
    this.#readTime = observer(blockCacheLatency, { volume, tier: 'remote', op: 'read' });
    this.#writeTime = observer(blockCacheLatency, { volume, tier: 'remote', op: 'write' });
  }

  /** Join `options.name` as a client: learn the members. A sharing member starts serving with serve(). */
  static async open(meta: Meta, objects: ObjectStore, options: CacheGroupOptions): Promise<CacheGroup> {
    const secret = await loadGroupSecret(meta, options.name, options.sealingKey);
    const g = new CacheGroup(meta, objects, options, secret);
    await g.#refresh();
    g.#timer = setInterval(() => void g.#tick(), g.#o.heartbeatMs);
    g.#timer.unref();
    return g;
  }

  /** Serve `cache` to the group and register; its address is what peers connect to. */
  async serve(cache: DiskCache | null, maxBlockLength: number): Promise<string> {
    if (!this.sharing) throw new Error('a no-sharing member serves nothing');
    if (!cache) throw errnoError('EINVAL', 'cache-group', this.#o.name, 'a cache-group member that shares needs a disk cache: give --cache-dir (or join with --no-sharing)');
    this.#cache = cache;
    const [host, port] = splitAddress(this.options.listen ?? '0.0.0.0:0', '--listen');
    this.#server = await GroupServer.listen({
      cache, key: this.#key, maxBlockLength, warm: (key, length) => this.#warmHere(key, length), stats: () => ({ ...this.stats(), cache: cache.stats() }),
    }, host, port);
    const address = this.options.address ?? `${host === '0.0.0.0' || host === '::' ? hostname() : host}:${this.#server.port}`;
    splitAddress(address, '--group-address');
    const weight = this.options.weight ?? Math.max(1, Math.round((cache.options.size < 0 ? 100 * 2 ** 30 : cache.options.size) / 2 ** 30));
    this.#self = { id: this.id, address, weight, backup: this.#o.backup, startedMs: Date.now() };
    await this.meta.groupBeat(this.#o.name, this.#self);
    await this.#refresh();
    return address;
  }

  get address(): string | undefined {
    return this.#self?.address;
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = (async () => {
      try {
        if (this.#self) await this.meta.groupBeat(this.#o.name, this.#self);
        await this.#refresh();
      } catch {
        // Metadata unreachable for a moment: keep the members we know; the next beat tries again.
      }
    })();
    await this.#ticking;
    this.#ticking = null;
  }

  async #refresh(): Promise<void> {
    const now = Date.now();
    const rows = await this.meta.groupMembers(this.#o.name);
    const old = new Map(this.#members.map((m) => [m.id, m]));
    const next: Known[] = [];
    for (const r of rows) {
      if (r.heartbeatMs < now - this.#o.staleMs) {
        // Killed members leave their rows behind; a member clears those silent for an hour.
        if (this.#self && r.heartbeatMs < now - FORGET_AFTER_MS) await this.meta.groupLeave(this.#o.name, r.id).catch(() => undefined);
        continue;
      }
      const had = old.get(r.id);
      let peer: Peer | null = null;
      if (r.id !== this.id) {
        try {
          peer = had?.peer && had.address === r.address ? had.peer : new Peer(r.id, r.address, this.#key, this.#timeouts);
        } catch {
          continue; // An address no client can use: that member is left out, not the group.
        }
      }
      if (had?.peer && had.peer !== peer) void had.peer.close();
      old.delete(r.id);
      next.push({ ...r, peer });
    }
    for (const gone of old.values()) void gone.peer?.close();
    this.#members = next;
    // A member that failed is readmitted once it has heartbeaten since and answers a ping.
    await Promise.all(next.filter((m) => m.peer && this.#down.has(m.id)).map(async (m) => {
      if (m.heartbeatMs > this.#down.get(m.id)! && await m.peer!.ping()) this.#down.delete(m.id);
    }));
    for (const id of this.#down.keys()) if (!next.some((m) => m.id === id)) this.#down.delete(id);
  }

  #available(): Known[] {
    return this.#members.filter((m) => !this.#down.has(m.id));
  }

  #trip(m: Known): void {
    this.#stats.remoteErrors++;
    this.#down.set(m.id, m.heartbeatMs);
  }

  /** Whether the group keeps a second copy: any live member asks for it. */
  get backup(): boolean {
    return this.#o.backup || this.#members.some((m) => m.backup);
  }

  /** The members that should hold `key`: owner, and backup when on. */
  placement(key: string): GroupMember[] {
    return this.#placement(key).map(({ peer: _peer, ...m }) => m);
  }

  #placement(key: string): Known[] {
    return rank(this.#available(), key, this.backup ? 2 : 1);
  }

  /** The owners `key` had before the latest join, while that join is recent. */
  #previousOwners(key: string): Known[] {
    if (this.#o.handoffMs <= 0) return [];
    const available = this.#available();
    const newest = Math.max(0, ...available.map((m) => m.startedMs));
    if (Date.now() - newest > this.#o.handoffMs) return [];
    const before = available.filter((m) => m.startedMs < newest - JOIN_GAP_MS);
    return before.length === 0 ? [] : rank(before, key, this.backup ? 2 : 1);
  }

  fetch(key: string, blockLength: number, target: Uint8Array): Promise<boolean> {
    return this.#fetch(key, blockLength, target, true);
  }

  /** `fill`: the member asked loads what it lacks (a reader's request). A member filling itself
   * asks without it, or two members lacking a block would ask each other round and round. */
  async #fetch(key: string, blockLength: number, target: Uint8Array, fill: boolean): Promise<boolean> {
    const placed = this.#placement(key);
    const candidates = [...placed, ...this.#previousOwners(key)].filter((m, i, all) => m.peer && all.findIndex((x) => x.id === m.id) === i);
    if (candidates.length === 0) return false;
    const sums = Buffer.allocUnsafe(pieceCount(blockLength) * SUM_BYTES);
    const lacking: Known[] = [];
    for (const m of candidates) {
      if (this.#down.has(m.id)) continue;
      const started = performance.now();
      const got = await m.peer!.fetchInto(key, blockLength, target, sums, fill);
      // As on the local tier, a read's latency is a hit's: misses and timeouts are counted apart.
      if (got === 'hit' || got === 'via-group' || got === 'via-store') this.#readTime.observe((performance.now() - started) / 1000);
      if (got === 'hit' || got === 'via-group' || got === 'via-store' || got === 'forged') {
        if (got === 'forged' || !piecesMatch(key, target.subarray(0, blockLength), sums)) {
          // A damaged copy: counted, dropped there, and the block comes from elsewhere.
          this.#stats.remoteCorrupt++;
          void m.peer!.drop(key);
          if (placed.includes(m)) lacking.push(m);
          continue;
        }
        const ms = performance.now() - started;
        // A block the member got from another member cost no object-store GET either: a hit.
        if (got === 'via-store') this.#stats.remoteFills++;
        else this.#stats.remoteHits++;
        this.#stats.reads++;
        this.#stats.readMs += ms;
        this.#stats.readMsMax = Math.max(this.#stats.readMsMax, ms);
        // The owner (or backup) that lacked it gets it now: after a join or a loss, the group heals.
        for (const l of lacking) this.#send(l, key, target.subarray(0, blockLength), sums);
        return true;
      }
      if (got === 'absent') {
        if (placed.includes(m)) lacking.push(m);
      } else if (got === 'failed') {
        this.#trip(m);
      }
    }
    this.#stats.remoteMisses++;
    return false;
  }

  offer(key: string, data: Uint8Array): void {
    if (this.#closed) return;
    const targets = this.#placement(key).filter((m) => m.id !== this.id);
    if (targets.length === 0) return;
    let sums: Buffer;
    try {
      sums = cacheSums(key, data);
    } catch {
      return;
    }
    for (const t of targets) this.#send(t, key, data, sums);
  }

  #send(m: Known, key: string, data: Uint8Array, sums: Buffer): void {
    const tag = `${m.id} ${key}`;
    if (!m.peer || this.#offering.has(tag)) return;
    if (this.#offerBytes + data.byteLength > MAX_OFFER_BYTES) {
      this.#stats.remoteOfferSkips++;
      return;
    }
    this.#offering.add(tag);
    this.#offerBytes += data.byteLength;
    const copy = Buffer.from(data);
    const sumsCopy = Buffer.from(sums);
    this.#stats.remoteOffers++;
    // A failed offer costs nothing but the copy: reads decide whether a member is down.
    const started = performance.now();
    void m.peer.put(key, copy, sumsCopy).finally(() => {
      this.#writeTime.observe((performance.now() - started) / 1000);
      this.#offering.delete(tag);
      this.#offerBytes -= copy.byteLength;
    });
  }

  /** Block `key` must be here (a warmup, or a reader asking this member to fill): from the cache,
   * the group, or the store; one load per key however many ask at once. */
  #warmHere(key: string, blockLength: number): Promise<Loaded> {
    let running = this.#loading.get(key);
    if (!running) {
      running = this.#load(key, blockLength).finally(() => this.#loading.delete(key));
      this.#loading.set(key, running);
    }
    return running;
  }

  async #load(key: string, blockLength: number): Promise<Loaded> {
    const cache = this.#cache!;
    if ((await cache.cachedBytes(key)) > 0) return 'cached';
    const buf = allocBuffer(blockLength + Math.max(BLOCK_BUFFER_EXTRA, pieceCount(blockLength) * SUM_BYTES));
    try {
      const data = buf.subarray(0, blockLength);
      if (!(await this.#fetch(key, blockLength, data, false))) {
        await fetchVerifiedInto(this.objects, key, blockLength, buf);
        this.#stats.storeFills++;
        await cache.write(key, data);
        // Fresh from the store: the backup (or the owner, if this is the backup) gets its copy.
        this.offer(key, data);
        return 'store';
      }
      await cache.write(key, data);
      return 'group';
    } finally {
      releaseBuffer(buf);
    }
  }

  /** Fill block `key`'s owner (and backup): each fetches it from the group or the store. */
  async warm(key: string): Promise<'cached' | 'fetched'> {
    const block = blockOf(key);
    if (!block) throw errnoError('EINVAL', 'warmup', key, `${JSON.stringify(key)} is not a block key`);
    const targets = this.#placement(key);
    if (targets.length === 0) throw errnoError('EHOSTUNREACH', 'warmup', this.#o.name, `cache group "${this.#o.name}" has no live member to warm`);
    let result: 'cached' | 'fetched' = 'cached';
    for (const t of targets) {
      const r = t.peer ? await t.peer.warm(key) : await this.#warmHere(key, block.blockLength);
      if (r !== 'cached') result = 'fetched';
    }
    return result;
  }

  /** The members (addresses) holding block `key` now, of those that answer. */
  async holders(key: string): Promise<string[]> {
    const out: string[] = [];
    await Promise.all(this.#available().map(async (m) => {
      const here = m.peer ? await m.peer.holds(key) : (await this.#cache!.cachedBytes(key)) > 0;
      if (here) out.push(m.address);
    }));
    return out;
  }

  /** Each live member's counters, by address (members that do not answer are left out). */
  async memberStats(): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    await Promise.all(this.#members.map(async (m) => {
      if (!m.peer) return;
      const s = await m.peer.stats().catch(() => null);
      if (s) out.set(m.address, s);
    }));
    return out;
  }

  /** The live members as this process sees them. */
  members(): (GroupMember & { reachable: boolean; self: boolean })[] {
    return this.#members.map(({ peer: _peer, ...m }) => ({ ...m, reachable: !this.#down.has(m.id), self: m.id === this.id }));
  }

  stats(): PeerStats {
    const s = this.#stats;
    return {
      peers: this.#available().filter((m) => m.peer).length,
      remoteHits: s.remoteHits, remoteFills: s.remoteFills, remoteMisses: s.remoteMisses, remoteCorrupt: s.remoteCorrupt, remoteErrors: s.remoteErrors,
      remoteOffers: s.remoteOffers, remoteOfferSkips: s.remoteOfferSkips, groupStoreFills: s.storeFills,
      remoteReadMsAvg: s.reads === 0 ? 0 : s.readMs / s.reads, remoteReadMsMax: s.readMsMax,
    };
  }

  /** Leave the group: stop serving, deregister, close connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#ticking;
    // Requests in flight finish first (a fill may still be loading), then what they started.
    await this.#server?.close();
    await Promise.allSettled([...this.#loading.values()]);
    while (this.#offering.size > 0) await new Promise((r) => setTimeout(r, 5));
    if (this.#self) await this.meta.groupLeave(this.#o.name, this.id).catch(() => undefined);
    await Promise.all(this.#members.map((m) => m.peer?.close()));
  }
}

/** host and port of "host:port" ("[v6]:port" too); EINVAL naming the flag otherwise. A host is a
 * DNS name or an IPv4 address (letters, digits, "-" and "."), or an IPv6 address in brackets. */
export function splitAddress(address: string, flag: string): [string, number] {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]{0,252})):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw errnoError('EINVAL', 'cache-group', address, `${flag} takes host:port (e.g. 127.0.0.1:9700), got ${JSON.stringify(address)}`);
  return [m[1] ?? m[2], port];
}
