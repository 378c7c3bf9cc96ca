// One request, start to end: parse → authenticate → route → authorize → operation → events.
// Any failure becomes an S3 error document; a request whose body was not read either has it
// drained (small bodies: the connection lives on) or gets its connection closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type CredentialStore, type Identity } from './auth.js';
import { RequestBody, type BodyProgress } from './body.js';
import type { GatewayCore, OpContext } from './context.js';
import { S3Error, fromCoreError } from './errors.js';
import type { Authorizer, EventSink } from './hooks.js';
import { newRequestId, parseRequest, type S3Request } from './request.js';
import { baseHeaders, sendError } from './respond.js';
import { refuseUnimplementedHeaders, route } from './router.js';
import { queryServiceOf, sendQueryError, serveQueryApi } from './iam-api/query.js';
import { objectTarget, type FoundObject } from './objects.js';
import { timeRequest } from './metrics.js';
import type { EventOrigin } from './notifications.js';
import { clientAddress } from './client-address.js';
import type { IpRange } from '../iam/policy/ip-address.js';

export interface PipelineOptions {
  core: GatewayCore;
  credentials: CredentialStore;
  authorize: Authorizer;
  events: EventSink;
  /** Base domains of virtual-hosted-style addressing ("bucket.DOMAIN"). */
  domains: readonly string[];
  log: (message: string) => void;
  now?: () => number;
  bodyProgress?: BodyProgress;
  /** How long an unread body is drained after an error before the connection is closed instead. */
  drainMs?: number;
  /** The volume's name, which labels the gateway's metrics. */
  volume?: string;
  /** TLS-terminating proxies whose X-Forwarded-For names the client (events' source address). */
  proxies?: readonly IpRange[];
}

/** Bodies up to this size are read and dropped after an error so the connection stays usable,
 * if they come within DRAIN_MS. */
const DRAIN_LIMIT = 1024 * 1024;
const DRAIN_MS = 5_000;
const MAX_FORM_BYTES = 128 * 1024;

export async function handleRequest(raw: IncomingMessage, res: ServerResponse, p: PipelineOptions): Promise<void> {
  const id = newRequestId();
  const ended = timeRequest(p.volume ?? 'default');
  // Requests refused before routing (bad signature, malformed) count under 'Unrouted'.
  let operation = 'Unrouted';
  res.once('close', () => ended(operation, res.statusCode));
  baseHeaders(res, id);
  let req: S3Request | null = null;
  let body: RequestBody | null = null;
  try {
    req = parseRequest(raw, id, p.domains);
    // A CORS preflight is never signed: answered before authentication, as S3 answers a bucket
    // without a CORS configuration (which every bucket here is).
    if (req.method === 'OPTIONS') {
      if (req.headers.origin === undefined) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
      throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.');
    }
    const auth = await authenticate(req, p.credentials, (p.now ?? Date.now)(), p.core.region, () => readForm(raw));
    body = new RequestBody(req, res, auth.payload, p.bodyProgress);
    if (auth.service !== 's3') {
      operation = auth.service.toUpperCase();
      await serveQueryApi(auth.service, req, auth.body ?? body, auth.body !== undefined || auth.payload.kind !== 'unsigned', res, auth.identity, p.core.iam, p.authorize);
      return;
    }
    refuseUnimplementedHeaders(req, auth.payload.kind === 'chunked');
    const rt = route(req);
    operation = rt.operation;
    const s3req = req;
    const authorizeAs = async (identity: Identity, action: string, bucket: string | null, key: string | null, write: boolean, creating = false, context?: Record<string, string>) => {
      // What the authorizer may want to know of the object (its tags, its ACL), read once if at all.
      let found: Promise<FoundObject | null> | null = null;
      const object = () => (found ??= p.core.objects.lookup(objectTarget(bucket!, key!)).catch(() => null));
      const named = bucket !== null && key !== null;
      await p.authorize({
        identity, action, bucket, key, write, req: s3req, ...(creating ? { creating } : {}), ...(context ? { context } : {}),
        ...(named ? {
          existingTags: async () => (await object())?.info.tags ?? [],
          objectAcl: async () => (await object())?.info.acl ?? null,
          objectExists: async () => (await object()) !== null,
        } : {}),
      });
    };
    const authorize = (action: string, bucket: string | null, key: string | null, write: boolean, creating = false) => authorizeAs(auth.identity, action, bucket, key, write, creating);
    if (!rt.authorizesItself) await authorize(rt.action, req.bucket, req.key, rt.write);
    // Tags or an ACL set with the object are tagging and ACL changes, which a policy may allow
    // apart from writing; so are an ACL and an ownership given to a new bucket.
    for (const extra of alsoAuthorized(rt.action, req)) await authorize(extra, req.bucket, req.key, true, rt.action === 's3:CreateBucket');
    // Worked out only for a request that has events (most have none to queue).
    let known: EventOrigin | undefined;
    const origin = (): EventOrigin => (known ??= {
      principalId: auth.identity.userId ?? (auth.identity.accessKey || 'anonymous'),
      sourceIp: clientAddress(s3req, p.proxies ?? []).sourceIp ?? '',
      requestId: id,
    });
    // Delivery is woken only when a change did put rows in the queue (a rule matched).
    let queuedRows = false;
    const ctx: OpContext = {
      core: p.core, req, res, body, identity: auth.identity, events: [], authorize: (a, b, k, w) => authorize(a, b, k, w),
      queued: async (e) => {
        const rows = await p.core.notifications.queued(e, origin());
        if (rows.length > 0) queuedRows = true;
        return rows;
      },
      authorizeAs: (identity, a, b, k, w, context) => authorizeAs(identity, a, b, k, w, false, context),
      allowed: (action, bucket, key) => authorize(action, bucket, key, false).then(() => true, (err: unknown) => {
        if (err instanceof S3Error && err.code === 'AccessDenied') return false;
        throw err;
      }),
    };
    await rt.run(ctx);
    // Reads change nothing to commit their events with: they are queued after the operation;
    // every change's were committed with it.
    if (queuedRows && ctx.events.some((e) => e.queued)) p.core.notifications.onQueued();
    const after = ctx.events.filter((e) => !e.queued);
    if (after.length > 0) await p.core.notifications.queueAfter(after, origin()).catch((err: unknown) => p.log(`events of request ${id} were not queued: ${(err as Error).message}`));
    for (const e of ctx.events) {
      const { queued: _queued, ...told } = e;
      Promise.resolve()
        .then(() => p.events({ ...told, accessKey: auth.identity.accessKey, requestId: id, time: new Date() }))
        .catch((err: unknown) => p.log(`event ${e.name} for ${e.bucket}/${e.key ?? ''} was not delivered: ${(err as Error).message}`));
    }
  } catch (err) {
    const e = err instanceof S3Error ? err : fromCoreError(err);
    if (e.code === 'InternalError') p.log(`request ${id} ${raw.method} ${raw.url}: ${(err as Error)?.stack ?? String(err)}`);
    const close = !(await settleBody(raw, res, body, p.drainMs ?? DRAIN_MS));
    const service = queryServiceOf(raw);
    if (service !== null) sendQueryError(res, id, service, e, close);
    else sendError(res, id, req?.path ?? raw.url ?? '/', e, raw.method === 'HEAD', close);
  }
}

const ACL_HEADERS = ['x-amz-acl', 'x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control'];

/** What a request does besides its action, which AWS authorizes on its own. */
function alsoAuthorized(action: string, req: S3Request): string[] {
  const acl = ACL_HEADERS.some((h) => req.headers[h] !== undefined);
  if (action === 's3:PutObject') {
    return [...(req.headers['x-amz-tagging'] !== undefined ? ['s3:PutObjectTagging'] : []), ...(acl ? ['s3:PutObjectAcl'] : [])];
  }
  if (action === 's3:CreateBucket') {
    return [...(acl ? ['s3:PutBucketAcl'] : []), ...(req.headers['x-amz-object-ownership'] !== undefined ? ['s3:PutBucketOwnershipControls'] : [])];
  }
  return [];
}

/** An IAM or STS form body, read whole so its hash can be checked against the signature. */
async function readForm(raw: IncomingMessage): Promise<Buffer> {
  const declared = Number(raw.headers['content-length'] ?? 0);
  if (!(declared <= MAX_FORM_BYTES)) throw new S3Error('InvalidRequest', `An IAM or STS request body is at most ${MAX_FORM_BYTES} bytes, with Content-Length.`);
  const parts: Buffer[] = [];
  let seen = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > MAX_FORM_BYTES) throw new S3Error('InvalidRequest', `An IAM or STS request body is at most ${MAX_FORM_BYTES} bytes.`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Make the connection reusable after an error: true when no unread body is left on it. */
async function settleBody(raw: IncomingMessage, res: ServerResponse, body: RequestBody | null, drainMs: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return true;
  if (body?.started) return body.finished;
  // A client waiting for "100 Continue" never sends the body: closing is the only way out.
  if (/100-continue/i.test(String(raw.headers.expect ?? '')) && !res.headersSent) return false;
  const declared = raw.headers['content-length'];
  const length = declared === undefined ? NaN : Number(declared);
  if (!(length <= DRAIN_LIMIT)) return false;
  let seen = 0;
  const drained = (async () => {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > DRAIN_LIMIT) return false;
    }
    return true;
  })().catch(() => false);
  // A body declared and never sent (or trickled) must not hold the connection: give up on it.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), drainMs); });
  try {
    return await Promise.race([drained, late]);
  } finally {
    clearTimeout(timer);
  }
}
