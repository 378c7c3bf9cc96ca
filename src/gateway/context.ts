// What an operation works with: the parsed request, its body, who sent it, and the gateway's
// parts (the volume and what stands on it).
import type { ServerResponse } from 'node:http';
import type { CredentialStore, Identity } from './auth.js';
import type { RequestBody } from './body.js';
import type { IamStore } from '../iam/store.js';
import type { AccessControl } from './access.js';
import type { BucketAccess } from './bucket-access.js';
import type { Buckets } from './buckets.js';
import { S3Error } from './errors.js';
import type { GatewayEvent } from './hooks.js';
import type { QueuedEvent } from '../meta/meta.js';
import type { Notifications } from './notifications.js';
import type { DirectoryIndex } from './listing.js';
import type { Uploads } from './multipart.js';
import { objectTarget, type Objects, type ObjectTarget } from './objects.js';
import type { S3Request } from './request.js';
import type { Staging } from './staging.js';
import type { GatewayVolume } from './volume.js';

export interface GatewayCore {
  gv: GatewayVolume;
  buckets: Buckets;
  objects: Objects;
  staging: Staging;
  uploads: Uploads;
  index: DirectoryIndex;
  region: string;
  /** The owner S3 documents name for what the account's root owns. */
  owner: { id: string; displayName: string };
  /** The volume's users, groups, policies and service accounts. */
  iam: IamStore;
  /** Buckets' owners, policies and public access blocks. */
  bucketAccess: BucketAccess;
  access: AccessControl;
  /** Secrets of access keys (for signatures made outside the headers: browser form uploads). */
  credentials: CredentialStore;
  /** Bucket notification configurations and the queue rows of events. */
  notifications: Notifications;
}

export type PendingEvent = Omit<GatewayEvent, 'accessKey' | 'requestId' | 'time'> & {
  /** Its notifications were committed with the change (otherwise they are queued after it). */
  queued?: boolean;
};

export interface OpContext {
  core: GatewayCore;
  req: S3Request;
  res: ServerResponse;
  body: RequestBody;
  identity: Identity;
  /** Changes to announce once the operation succeeded. */
  events: PendingEvent[];
  /** The notifications of an event this request is about to cause, to commit with the change. */
  queued(e: PendingEvent): Promise<QueuedEvent[]>;
  /** Ask the authorizer about a further resource the operation touches (a copy's source). */
  authorize(action: string, bucket: string, key: string | null, write: boolean): Promise<void>;
  /** Ask about another identity than the request's (a browser form's signer). */
  authorizeAs(identity: Identity, action: string, bucket: string, key: string | null, write: boolean, context?: Record<string, string>): Promise<void>;
  /** Would the authorizer allow this? (For listings that show only what the caller may see.) */
  allowed(action: string, bucket: string | null, key: string | null): Promise<boolean>;
}

export function bucketOf(ctx: OpContext): string {
  if (ctx.req.bucket === null) throw new S3Error('InvalidRequest', 'This operation needs a bucket.');
  return ctx.req.bucket;
}

export function targetOf(ctx: OpContext): ObjectTarget {
  const bucket = bucketOf(ctx);
  if (ctx.req.key === null) throw new S3Error('InvalidRequest', 'This operation needs an object key.');
  return objectTarget(bucket, ctx.req.key);
}
