// The one error the core raises: errno-style, shaped like the errors node:fs throws, so that the
// entrypoints can translate it mechanically (to a FUSE reply, a Node-style error, S3 error XML).
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** The codes the core uses. Any other code known to the OS is accepted too. */
export type ErrnoCode =
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOTEMPTY'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EACCES'
  | 'EPERM'
  | 'EIO'
  | 'ENAMETOOLONG'
  | 'EXDEV'
  | 'ELOOP'
  | 'EBADF'
  | 'ENOSPC'
  | 'ENOTSUP'
  | 'ENODATA'
  | 'ERANGE'
  | 'EAGAIN'
  | 'EBUSY'
  | 'ETIMEDOUT'
  | 'EMLINK'
  | 'EFBIG'
  | 'EROFS'
  | 'ENOSYS'
  | 'EINTR'
  | 'ENXIO'
  | 'EOVERFLOW'
  | 'ECANCELED'
  | 'ESTALE'
  | 'EDQUOT'
  | 'ENOLCK'
  | 'EDEADLK';

// `string & {}` keeps editor completion for the known codes while accepting codes read off other
// errors (callers re-raise whatever code a lower layer reported).
type AnyCode = ErrnoCode | (string & {});

const errnoByCode = constants.errno as Readonly<Record<string, number>>;

// libuv's wording (what Node prints) where libuv knows the code; the rest follow strerror(3).
const extraDescriptions: Readonly<Record<string, string>> = {
  ESTALE: 'stale file handle',
  EDQUOT: 'disk quota exceeded',
  ENOLCK: 'no locks available',
  EDEADLK: 'resource deadlock avoided',
};

let descriptionsByErrno: Map<number, [string, string]> | undefined;

function describeCode(code: string, errno: number): string {
  descriptionsByErrno ??= getSystemErrorMap();
  return descriptionsByErrno.get(errno)?.[1] ?? extraDescriptions[code] ?? 'unknown error';
}

/** Node's (negative) errno for a code, or undefined when the OS does not know the code. */
export function errnoOf(code: string): number | undefined {
  const n = errnoByCode[code];
  return typeof n === 'number' ? -n : undefined;
}

export class StrataError extends Error {
  readonly code: AnyCode;
  readonly errno: number;
  readonly syscall: string;
  // `declare`: no own property unless set, like Node's errors (which have no `path` key without a path).
  declare path?: string;
  /** Extra words after Node's message: which object, which volume, why. */
  declare readonly detail?: string;

  constructor(code: AnyCode, syscall: string, path?: string, detail?: string, options?: { cause?: unknown }) {
    const known = errnoOf(code);
    // An unknown code still fails loudly as an I/O error rather than as a code nobody handles.
    const errno = known ?? errnoOf('EIO')!;
    let message = `${code}: ${known === undefined ? 'unknown error' : describeCode(code, errno)}, ${syscall}`;
    if (path !== undefined) message += ` '${path}'`;
    if (detail) message += ` (${detail})`;
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (detail) (this as { detail?: string }).detail = detail;
  }
}

// Node's own fs errors are named 'Error' (and their stack starts 'Error: ENOENT: ...'); the
// entrypoints that mimic node:fs compare names, so ours match.
Object.defineProperty(StrataError.prototype, 'name', { value: 'Error', writable: true, configurable: true, enumerable: false });

/** The error for `code` raised by `syscall` on `path`, e.g. `ENOENT: no such file or directory, open '/a/b'`. */
export function errnoError(code: AnyCode, syscall: string, path?: string, detail?: string, cause?: unknown): StrataError {
  return new StrataError(code, syscall, path, detail, cause === undefined ? undefined : { cause });
}

/** True if `e` is a StrataError (with `code`, when given). */
export function isStrataError(e: unknown, code?: AnyCode): e is StrataError {
  return e instanceof StrataError && (code === undefined || e.code === code);
}

/** The errno code carried by any error (a StrataError, a Node system error), or undefined. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * A Node system error (from node:fs, a socket, ...) as a StrataError for `syscall` on `path`,
 * keeping its code and the original as `cause`. Errors without an errno code become EIO.
 */
export function fromSystemError(e: unknown, syscall: string, path?: string, detail?: string): StrataError {
  if (e instanceof StrataError) return e;
  const code = errorCode(e) ?? 'EIO';
  const why = detail ?? (code === 'EIO' && e instanceof Error ? e.message : undefined);
  return errnoError(code, syscall, path, why, e);
}

/** True when `e`, or an error in its cause chain, has errno code `code`. */
export function causedBy(e: unknown, code: AnyCode): boolean {
  for (let err = e, depth = 0; err && depth < 8; err = (err as { cause?: unknown }).cause, depth++) {
    if ((err as { code?: unknown }).code === code) return true;
  }
  return false;
}
