// The S3 gateway: an HTTP/1.1 server (node:http, keep-alive) over a volume. startGateway() opens
// the volume, prepares the staging area, listens, and sweeps leftovers in the background;
// close() stops listening, lets requests in flight finish, and closes the volume.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { DEFAULT_QUEUE_MAX, EventDelivery } from '../events/delivery.js';
import { openTarget } from '../events/targets/index.js';
import type { TargetSpec } from '../events/targets/target.js';
import { VolumeEvents } from '../events/volume-events.js';
import { Notifications } from './notifications.js';
import type { AddressInfo, Socket } from 'node:net';
import type { VolumeOptions } from '../sdk/volume.js';
import { rootPrincipal } from '../iam/principals.js';
import { IamStore } from '../iam/store.js';
import { ownerOf } from './acl/model.js';
import { AccessControl } from './access.js';
import type { CredentialStore } from './auth.js';
import { BucketAccess } from './bucket-access.js';
import { trustedProxies } from './client-address.js';
import { gatewayCredentials } from './credentials.js';
import { Buckets } from './buckets.js';
import type { GatewayCore } from './context.js';
import { S3Error } from './errors.js';
import { noEvents, readOnly, type Authorizer, type EventSink } from './hooks.js';
import { errnoError } from '../errors/errno.js';
import { DirectoryIndex } from './listing.js';
import { Uploads } from './multipart.js';
import { Objects } from './objects.js';
import { handleRequest } from './pipeline.js';
import { Staging } from './staging.js';
import { GatewayVolume } from './volume.js';
import { el, xmlDocument } from './xml.js';

export interface GatewayOptions {
  metaUrl: string;
  /** Address to listen on (default 127.0.0.1) and port (0: any free one). */
  host?: string;
  port?: number;
  accessKey: string;
  secretKey: string;
  /** Refuse every change. */
  readOnly?: boolean;
  /** The region the gateway reports (and accepts in CreateBucket). Default us-east-1. */
  region?: string;
  /** Base domains for virtual-hosted-style requests ("bucket.DOMAIN"). */
  domains?: string[];
  /** Decides what a caller may do (default: AWS policy evaluation over the volume's identity
   * store and bucket policies; root may do everything). */
  authorizer?: Authorizer;
  /** Told of every change (default: nobody). */
  events?: EventSink;
  /** Where bucket event notifications go (--notify TYPE:ID=URL); rules name them by ARN. */
  notify?: TargetSpec[];
  /** Also publish changes made through mounts and SDK clients, from the volume's change log. */
  eventsFromVolume?: boolean;
  /** Events a target's queue keeps at most; beyond, the oldest are dropped (default 1,000,000). */
  eventQueueMax?: number;
  /** Multipart uploads not completed within this long are removed (default 7 days). */
  uploadExpiryMs?: number;
  /** Period of the sweep of abandoned uploads and temp files (default 1 hour). */
  sweepMs?: number;
  /** Largest request header section in bytes (default 16 KiB). */
  maxHeaderSize?: number;
  /** Bounds on what a connection may hold (see ConnectionLimits). */
  limits?: Partial<ConnectionLimits>;
  /** Addresses (CIDR ranges) of TLS-terminating proxies whose X-Forwarded-For and
   * X-Forwarded-Proto set aws:SourceIp and aws:SecureTransport (default: none believed). */
  trustedProxies?: string[];
  /** Where errors the client cannot fix are reported (default: stderr). */
  log?: (message: string) => void;
  /** Options of the volume clients (buffer and cache sizes, ...). */
  volume?: VolumeOptions;
  /** Clock of signature checks (tests). */
  now?: () => number;
}

export interface Gateway {
  /** http://host:port */
  readonly url: string;
  readonly address: AddressInfo;
  readonly core: GatewayCore;
  /** Sweep abandoned uploads and temp files now. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** What one client may hold: without bounds, connections that never finish their headers or
 * body keep file descriptors until the gateway can accept nothing else. */
export interface ConnectionLimits {
  /** The request line and headers must arrive within this long. */
  headersMs: number;
  /** A connection with no byte in or out for this long is closed (longer than the keep-alive
   * time, so idle pooled connections are closed by keep-alive first). */
  idleMs: number;
  /** A body must bring `minBytes` (or what is left of it) in every `windowMs` of waiting for it. */
  bodyWindowMs: number;
  bodyMinBytes: number;
  /** After an error, an unread body is read and dropped for at most this long, then the
   * connection is closed instead. */
  drainMs: number;
  /** Connections beyond this many are refused. */
  maxConnections: number;
  /** Bytes of block memory all GETs together may keep pinned while their sockets send them; past
   * it pieces are copied, so stalled clients cannot fill the hot-path heap every block load needs. */
  pinnedBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  headersMs: 30_000, idleMs: 120_000, bodyWindowMs: 30_000, bodyMinBytes: 16 * 1024, drainMs: 5_000, maxConnections: 1024,
  pinnedBytes: 256 * 1024 * 1024,
};

const DAY_MS = 86_400_000;
/** Temp files of a crashed gateway: nothing alive writes one this long without touching it. */
const TEMP_MAX_AGE_MS = DAY_MS;
/** How long close() lets requests in flight finish before cutting them. */
const CLOSE_GRACE_MS = 10_000;

function checkCredentials(accessKey: string, secretKey: string): void {
  if (typeof accessKey !== 'string' || accessKey.length < 3 || accessKey.length > 128 || /[\s/:]/.test(accessKey)) {
    throw new RangeError('the access key must be 3 to 128 characters without spaces, "/" or ":"');
  }
  if (typeof secretKey !== 'string' || secretKey.length < 8 || secretKey.length > 256) {
    throw new RangeError('the secret key must be 8 to 256 characters');
  }
}

/** A raw HTTP error answer for requests node:http refused before they reached the pipeline. */
function rawError(code: string, message: string): string {
  const err = new S3Error(code, message);
  const body = xmlDocument(el('Error', el('Code', err.code), el('Message', err.message)), false);
  return `HTTP/1.1 ${err.status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  checkCredentials(options.accessKey, options.secretKey);
  const log = options.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} gateway: ${m}\n`));
  const gv = await GatewayVolume.open(options.metaUrl, options.volume);
  let server: Server | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delivery: EventDelivery | null = null;
  let volumeEvents: VolumeEvents | null = null;
  try {
    // A mirror without mirror writes serves reads only, from the gateway store its primary made.
    const { mirror, name: volumeName } = await gv.user.vfs.meta.settings();
    const readOnlyMirror = mirror !== undefined && !options.volume?.mirrorWrites;
    const staging = new Staging(gv);
    const iam = await (async () => {
      if (!readOnlyMirror) await staging.ensure();
      return IamStore.open(gv.system, options.secretKey, options.now);
    })().catch((err: unknown) => {
      if (readOnlyMirror && (err as { code?: string }).code === 'EROFS') {
        throw errnoError('EROFS', 'gateway', undefined, `this volume is a mirror of ${mirror.primary} and no gateway has run on the primary yet, so there is no gateway store to serve from: start a gateway on the primary once, or serve this mirror with --mirror-writes`, err);
      }
      throw err;
    });
    const buckets = new Buckets(gv);
    const limits: ConnectionLimits = { ...DEFAULT_LIMITS, ...options.limits };
    const objects = new Objects(gv, buckets, limits.pinnedBytes);
    const uploads = new Uploads(gv, staging, objects, buckets);
    iam.report = log;
    const credentials: CredentialStore = gatewayCredentials({ accessKey: options.accessKey, secretKey: options.secretKey }, iam);
    const bucketAccess = new BucketAccess(gv, options.now);
    const proxies = trustedProxies(options.trustedProxies ?? []);
    const access = new AccessControl({ store: iam, buckets: bucketAccess, now: options.now, proxies });
    const region = options.region ?? 'us-east-1';
    const owner = { id: ownerOf(rootPrincipal(iam, options.accessKey), iam.account).id, displayName: 'root' };
    const eventTargets = readOnlyMirror ? [] : (options.notify ?? []).map(openTarget);
    if (readOnlyMirror && (options.notify?.length || options.eventsFromVolume)) log('this gateway serves a mirror read-only: it sends no event notifications (the primary\'s gateways do)');
    const notifications = new Notifications(gv, eventTargets.map((t) => ({ id: t.id, arn: t.arn })), region, owner.id, options.now);
    const core: GatewayCore = {
      gv, buckets, objects, staging, uploads, index: new DirectoryIndex(gv), region, owner,
      iam, bucketAccess, access, credentials, notifications,
    };
    // Even with no target of its own, a gateway keeps the volume's queues within their bound.
    delivery = readOnlyMirror ? null : new EventDelivery({
      meta: gv.system.vfs.meta, targets: eventTargets, holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      queueMax: options.eventQueueMax ?? DEFAULT_QUEUE_MAX, log,
    });
    notifications.onQueued = () => delivery?.poke();
    delivery?.start();
    for (const t of eventTargets) log(`event notifications to ${t.arn}: ${t.describe}`);
    if (options.eventsFromVolume && !readOnlyMirror) {
      volumeEvents = new VolumeEvents({ meta: gv.system.vfs.meta, queued: (e, o) => notifications.queued(e, o), onQueued: () => delivery?.poke(), log });
      await volumeEvents.start();
    }
    const base = options.authorizer ?? access.authorize;
    const pipeline = {
      core, credentials, log, now: options.now, volume: volumeName, proxies,
      bodyProgress: { windowMs: limits.bodyWindowMs, minBytes: limits.bodyMinBytes }, drainMs: limits.drainMs,
      authorize: options.readOnly || readOnlyMirror ? readOnly(base) : base,
      events: options.events ?? noEvents,
      domains: (options.domains ?? []).map((d) => d.toLowerCase()),
    };

    const srv = createServer({
      keepAlive: true, maxHeaderSize: options.maxHeaderSize ?? 16 * 1024, requestTimeout: 0, headersTimeout: limits.headersMs,
      // How often node:http looks for connections past their header time (default 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(limits.headersMs / 2, 30_000)),
    });
    server = srv;
    srv.maxConnections = limits.maxConnections;
    // No 'timeout' listener: node:http destroys a socket idle this long.
    srv.setTimeout(limits.idleMs);
    // Long enough that a client's pooled connection is not closed under it between requests.
    srv.keepAliveTimeout = 65_000;
    const onRequest = (req: Parameters<typeof handleRequest>[0], res: Parameters<typeof handleRequest>[1]) => {
      handleRequest(req, res, pipeline).catch((err: unknown) => {
        log(`request failed outside the pipeline: ${(err as Error)?.stack ?? String(err)}`);
        res.destroy();
      });
    };
    srv.on('request', onRequest);
    // Expect: 100-continue is answered only once the request is authenticated and accepted.
    srv.on('checkContinue', onRequest);
    srv.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const answer = err.code === 'HPE_HEADER_OVERFLOW'
        ? rawError('RequestHeaderSectionTooLarge', `Your request header section exceeds the maximum allowed size (${options.maxHeaderSize ?? 16384} bytes).`)
        : rawError('InvalidRequest', `The request is not valid HTTP/1.1 (${err.code ?? err.message}).`);
      socket.end(answer);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const address = srv.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

    const expiry = options.uploadExpiryMs ?? 7 * DAY_MS;
    let sweeping: Promise<void> | null = null;
    const sweep = () => {
      sweeping ??= (async () => {
        try {
          const temps = await staging.sweepTemp(TEMP_MAX_AGE_MS);
          const ups = await uploads.sweep(expiry);
          if (temps + ups > 0) log(`swept ${ups} abandoned upload(s) and ${temps} temp file(s)`);
        } catch (err) {
          log(`sweep failed: ${(err as Error).message}`);
        } finally {
          sweeping = null;
        }
      })();
      return sweeping;
    };
    void sweep();
    timer = setInterval(() => void sweep(), options.sweepMs ?? 3_600_000);
    timer.unref();

    let closing: Promise<void> | null = null;
    return {
      url: `http://${host}:${address.port}`,
      address,
      core,
      sweep,
      close() {
        closing ??= (async () => {
          if (timer) clearInterval(timer);
          const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
          srv.closeIdleConnections();
          const grace = setTimeout(() => srv.closeAllConnections(), CLOSE_GRACE_MS);
          await closed;
          clearTimeout(grace);
          await sweeping;
          await volumeEvents?.close();
          await delivery?.close();
          await iam.close();
          await gv.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    if (timer) clearInterval(timer);
    server?.close();
    await volumeEvents?.close().catch(() => undefined);
    await delivery?.close().catch(() => undefined);
    await gv.close().catch(() => undefined);
    throw err;
  }
}
