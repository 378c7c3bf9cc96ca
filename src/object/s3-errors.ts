// What a failed S3 request means for Strata: worth retrying (throttling, 5xx, resets, timeouts,
// cut-off bodies) or final, as an errno-style error that says what to do about it.
import { errnoError, isStrataError } from '../errors/errno.js';
import { AttemptTimeout, type Verdict } from './retry.js';

export interface S3ErrorContext {
  op: string;
  /** The object key as the caller named it (or the list prefix). */
  key?: string;
  bucket: string;
  /** Where the store lives, without credentials. */
  where: string;
}

/** An attempt that went wrong in a way the next attempt may not (e.g. a body cut short). */
export class TransientError extends Error {}
Object.defineProperty(TransientError.prototype, 'name', { value: 'TransientError', writable: true, configurable: true, enumerable: false });

const THROTTLING = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'ProvisionedThroughputExceededException',
]);
// 4xx answers that S3 documents as worth repeating.
const RETRYABLE_4XX = new Set(['RequestTimeout', 'RequestTimeoutException', 'PriorRequestNotComplete', 'IncompleteBody']);
const BAD_CREDENTIALS = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem']);
const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** HTTP status of an SDK error, or undefined when no answer arrived. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as SdkError | null)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`, ...) of an SDK error. */
export function s3CodeOf(err: unknown): string {
  const e = (err ?? {}) as SdkError;
  return e.Code ?? e.name ?? 'Error';
}

/** One line saying what happened, for messages. */
export function describeCause(err: unknown): string {
  if (err instanceof AttemptTimeout) return `timed out (${err.message})`;
  const e = (err ?? {}) as SdkError;
  const status = statusOf(err);
  const code = typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : undefined;
  const name = status !== undefined ? s3CodeOf(err) : (code ?? e.name ?? 'Error');
  const message = typeof e.message === 'string' && e.message !== '' && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `${status !== undefined ? `HTTP ${status} ` : ''}${name}${message}`;
}

export const CREDENTIALS_HINT =
  'check the access key and secret key (--access-key/--secret-key when formatting, key:secret@ in the storage URL, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)';

/** The verdict for one failed S3 request. */
/**
 * The SDK error reduced to what it says. The original holds the raw response (socket, parser,
 * request) and would keep all of it alive, and printed, as the cause of our error.
 */
export function slimError(err: unknown): Error {
  if (!(err instanceof Error) || !('$metadata' in err)) return err instanceof Error ? err : new Error(String(err));
  const slim = new Error(describeCause(err));
  Object.defineProperty(slim, 'name', { value: err.name, enumerable: false, configurable: true, writable: true });
  const code = (err as SdkError).code;
  Object.assign(slim, { $metadata: (err as SdkError).$metadata, ...(typeof code === 'string' ? { code } : {}) });
  return slim;
}

export function classifyS3Error(err: unknown, ctx: S3ErrorContext): Verdict {
  if (isStrataError(err)) return { retry: false, error: err };
  const cause = describeCause(err);
  if (err instanceof AttemptTimeout || err instanceof TransientError) return { retry: true, cause, error: err };
  const status = statusOf(err);
  const code = s3CodeOf(err);
  const slim = slimError(err);
  const fail = (errno: string, detail: string) => ({ retry: false as const, error: errnoError(errno, ctx.op, ctx.key, detail, slim) });

  if (status === undefined) {
    const name = (err as SdkError | null)?.name;
    if (name === 'CredentialsProviderError') return fail('EACCES', `no credentials for ${ctx.where}: ${CREDENTIALS_HINT}`);
    // Programming errors do not get better by repeating them.
    if (err instanceof TypeError || err instanceof RangeError) return fail('EIO', `${ctx.op} in ${ctx.where} failed: ${cause}`);
    // No answer at all: refused, reset, cut off, timed out, or an answer too broken to parse.
    return { retry: true, cause, error: slim };
  }
  if (status === 429 || status >= 500 || THROTTLING.has(code) || RETRYABLE_4XX.has(code)) return { retry: true, cause, error: slim };
  if (code === 'NoSuchBucket') {
    return fail(ctx.op === 'open' ? 'ENOENT' : 'EIO', `bucket "${ctx.bucket}" does not exist at ${ctx.where} (${cause}); create it, or check the bucket in the storage URL`);
  }
  if (status === 403 || BAD_CREDENTIALS.has(code)) {
    return fail('EACCES', `${cause}; ${CREDENTIALS_HINT}, and that they may ${ctx.op} in bucket "${ctx.bucket}"`);
  }
  if (status === 301 || WRONG_REGION.has(code)) {
    return fail('EIO', `${cause}; bucket "${ctx.bucket}" is in another region: add ?region=REGION to the storage URL`);
  }
  if (code === 'NoSuchKey' || status === 404) return fail('ENOENT', `no object with this key in ${ctx.where}`);
  return fail('EIO', `${ctx.op} in ${ctx.where} was refused: ${cause}`);
}
