// What an operation works with: the parsed request, its body, who sent it, and the gateway's
// parts (the volume and what stands on it).
import type { ServerResponse } from 'node:http';
import type { Identity } from './auth.js';
import type { RequestBody } from './body.js';
import type { Buckets } from './buckets.js';
import { S3Error } from './errors.js';
import type { GatewayEvent } from './hooks.js';
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
  /** The owner S3 documents name (one owner: the gateway's root). */
  owner: { id: string; displayName: string };
}

export type PendingEvent = Omit<GatewayEvent, 'accessKey' | 'requestId' | 'time'>;

export interface OpContext {
  core: GatewayCore;
  req: S3Request;
  res: ServerResponse;
  body: RequestBody;
  identity: Identity;
  /** Changes to announce once the operation succeeded. */
  events: PendingEvent[];
  /** Ask the authorizer about a further resource the operation touches (a copy's source). */
  authorize(action: string, bucket: string, key: string | null, write: boolean): Promise<void>;
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
