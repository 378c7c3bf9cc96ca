// Building the SDK client for one bucket: where it is (endpoint, region, addressing style), who
// we are (credentials from options, then the environment), and how we talk to it (a keep-alive
// socket pool of bounded size, no SDK retries, no per-request CRCs).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { errnoError } from '../errors/errno.js';
import { CREDENTIALS_HINT } from './s3-errors.js';

export interface S3Location {
  bucket: string;
  /** `http(s)://host[:port]` of an S3-compatible service; undefined for AWS itself. */
  endpoint?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default: yes for endpoints on an IP
   * address or localhost (no DNS name per bucket there), virtual-hosted otherwise. */
  pathStyle?: boolean;
  /** Sockets per host in the keep-alive pool (default 64). Requests beyond it wait for a socket. */
  maxSockets?: number;
}

export const DEFAULT_MAX_SOCKETS = 64;
const DEFAULT_REGION = 'us-east-1';

/** Where a store lives, for messages and describe(): never credentials. */
export function whereOf(loc: Pick<S3Location, 'bucket' | 'endpoint'>): string {
  return loc.endpoint === undefined ? `s3://${loc.bucket}/` : `${loc.endpoint}/${loc.bucket}/`;
}

function isLocalHost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

export function regionOf(loc: S3Location, env: NodeJS.ProcessEnv): string {
  return loc.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? DEFAULT_REGION;
}

function credentialsOf(loc: S3Location, env: NodeJS.ProcessEnv): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  const where = whereOf(loc);
  if (loc.accessKey !== undefined || loc.secretKey !== undefined) {
    if (!loc.accessKey || !loc.secretKey) throw errnoError('EINVAL', 'open', where, 'give both an access key and a secret key, or neither');
    return { accessKeyId: loc.accessKey, secretAccessKey: loc.secretKey, ...(loc.sessionToken ? { sessionToken: loc.sessionToken } : {}) };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  // On AWS the SDK's own chain (profiles, instance roles, ...) may still find some.
  if (loc.endpoint === undefined) return undefined;
  throw errnoError('EACCES', 'open', where, `no credentials for this store: ${CREDENTIALS_HINT}`);
}

/** A client for `loc`; throws EINVAL/EACCES for options that cannot work. */
export function createS3Client(loc: S3Location, env: NodeJS.ProcessEnv = process.env): S3Client {
  const where = whereOf(loc);
  if (typeof loc.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(loc.bucket)) {
    throw errnoError('EINVAL', 'open', String(loc.bucket), 'the bucket name must be 3 to 63 lowercase letters, digits, "." or "-"');
  }
  if (loc.endpoint !== undefined && !/^https?:\/\/[^/?#@]+$/.test(loc.endpoint)) {
    throw errnoError('EINVAL', 'open', loc.endpoint, 'the endpoint must look like http(s)://host[:port], without a path or credentials');
  }
  const maxSockets = loc.maxSockets ?? DEFAULT_MAX_SOCKETS;
  if (!Number.isSafeInteger(maxSockets) || maxSockets < 1) throw errnoError('EINVAL', 'open', where, `maxSockets must be a positive whole number, got ${String(loc.maxSockets)}`);
  const credentials = credentialsOf(loc, env);
  // The SDK warns on Node < 22 that *future* SDK releases will need it; the installed one works
  // on the Node 20 Strata supports, and the warning would print on every command. The SDK's own
  // switch; a user who set it either way is left alone.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const agent = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  return new S3Client({
    region: regionOf(loc, env),
    ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
    forcePathStyle: loc.pathStyle ?? (loc.endpoint !== undefined && isLocalHost(loc.endpoint)),
    ...(credentials ? { credentials } : {}),
    // Strata retries (retry.ts): one budget and one timeout for every request.
    maxAttempts: 1,
    // Blocks carry their own checksums; CRCs on every request would only cost CPU.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
      // A full pool is the intended back-pressure, not something to warn about on stderr.
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    }),
  });
}
