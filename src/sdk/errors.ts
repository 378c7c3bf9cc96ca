// Re-labelling core errors for the SDK: the vfs reports inode-level failures; Node reports them
// with the syscall it made and the path(s) the caller passed.
import { errnoError, errorCode } from '../errors/errno.js';

/** The same failure as `err`, reported for `syscall` on `path` (and `dest`, for two-path calls). */
export function recast(err: unknown, syscall: string, path?: string, dest?: string): unknown {
  const code = errorCode(err);
  if (code === undefined) return err;
  // Keep the lower layer's explanation (which object, why) but not its syscall or path.
  const detail = (err as { detail?: unknown }).detail;
  const out = errnoError(code, syscall, path, undefined, err instanceof Error ? err : undefined) as Error & { dest?: string };
  if (dest !== undefined) {
    out.dest = dest;
    out.message = `${out.message} -> '${dest}'`;
  }
  // Kept as `detail` too, so recasting again (handle call inside a path call) does not drop it.
  if (typeof detail === 'string' && detail) { out.message = `${out.message} (${detail})`; (out as { detail?: string }).detail = detail; }
  if (out.stack) {
    const nl = out.stack.indexOf('\n');
    out.stack = `Error: ${out.message}${nl >= 0 ? out.stack.slice(nl) : ''}`;
  }
  return out;
}

/** Run `fn`, reporting any errno failure as `syscall` on `path`/`dest`. */
export async function as<T>(syscall: string, path: string | undefined, fn: () => Promise<T>, dest?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw recast(err, syscall, path, dest);
  }
}

export function fail(code: string, syscall: string, path?: string, dest?: string): never {
  throw recast(errnoError(code, syscall), syscall, path, dest);
}

/** Node's error for a FileHandle used after close(). */
export function closedHandle(syscall: string): Error {
  return Object.assign(new Error('file closed'), { code: 'EBADF', syscall });
}
