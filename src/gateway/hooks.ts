// The two seams of the request pipeline that later issues fill: authorization (users, groups,
// policies) between authentication and the operation, and event notification after it.
import type { Acl } from './acl/model.js';
import type { Identity } from './auth.js';
import { S3Error } from './errors.js';
import type { S3Request } from './request.js';

export interface AuthorizationRequest {
  identity: Identity;
  /** The S3 action, as IAM policies name it: "s3:GetObject", "s3:ListBucket", ... */
  action: string;
  bucket: string | null;
  key: string | null;
  /** Does the operation change anything? */
  write: boolean;
  /** The resource's ARN when it is not an S3 one (IAM and STS actions). */
  resource?: string;
  /** The request, for condition keys (source address, prefix, headers). */
  req?: S3Request;
  /** The bucket is being created by this request (it need not exist yet). */
  creating?: boolean;
  /** Condition keys the operation knows and the request does not show (e.g. iam:PolicyARN). */
  context?: Readonly<Record<string, string>>;
  /** The ACL of the object the request names (null: none recorded), for ACL grants. */
  objectAcl?: () => Promise<Acl | null>;
  /** Is there an object at the key? (A caller who may list the bucket learns a missing key is
   * missing, as S3 tells it.) */
  objectExists?: () => Promise<boolean>;
  /** The tags of the object the request names, for s3:ExistingObjectTag conditions. */
  existingTags?: () => Promise<readonly (readonly [string, string])[]>;
}

/** Resolves to allow; throws (an S3Error, normally AccessDenied) to refuse. */
export type Authorizer = (request: AuthorizationRequest) => void | Promise<void>;

/** Root may do everything, nobody else anything. */
export const rootOnly: Authorizer = ({ identity }) => {
  if (identity.kind !== 'root') throw new S3Error('AccessDenied');
};

/** Refuse every change (the gateway's --read-only), then ask `next`. */
export function readOnly(next: Authorizer): Authorizer {
  return async (request) => {
    if (request.write) throw new S3Error('AccessDenied', 'This gateway is read-only: changes are refused.');
    await next(request);
  };
}

export interface GatewayEvent {
  /** S3 event name: "s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete", ... */
  name: string;
  bucket: string;
  key?: string;
  size?: number;
  etag?: string;
  accessKey: string;
  requestId: string;
  time: Date;
}

/** Told of every change and read (s3:ObjectAccessed:*) after it succeeded; failures here never
 * fail the request. Durable delivery to targets is the notification queue's (gateway --notify). */
export type EventSink = (event: GatewayEvent) => void | Promise<void>;

export const noEvents: EventSink = () => undefined;
