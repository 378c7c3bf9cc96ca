// Splitting and checking POSIX paths before any lookup: the kernel's limits (PATH_MAX, NAME_MAX)
// and its handling of '.', empty components and trailing slashes.
import { NAME_MAX, PATH_MAX } from './constants.js';

export interface ParsedPath {
  /** Components in order, '.' and empty ones removed; '..' kept (resolved during the walk). */
  parts: string[];
  /** The path ended in '/' (or '/.'): its last component must be a directory. */
  trailingSlash: boolean;
  /** The path ended in '/.': the component before it must already be a directory. */
  trailingDot: boolean;
}

export type PathProblem = 'ENOENT' | 'ENAMETOOLONG' | 'EINVAL';

/** Why `path` cannot name anything, or null. Relative paths are taken from '/'. */
export function pathProblem(path: string): PathProblem | null {
  if (path.length === 0) return 'ENOENT';
  if (path.includes('\u0000')) return 'EINVAL';
  // The kernel copies the path with its NUL into a PATH_MAX buffer.
  if (Buffer.byteLength(path, 'utf8') >= PATH_MAX) return 'ENAMETOOLONG';
  for (const part of path.split('/')) {
    if (part.length > NAME_MAX / 4 && Buffer.byteLength(part, 'utf8') > NAME_MAX) return 'ENAMETOOLONG';
  }
  return null;
}

/** Split a path that passed pathProblem(). */
export function parsePath(path: string): ParsedPath {
  const raw = path.split('/');
  const parts = raw.filter((p) => p !== '' && p !== '.');
  const tail = raw[raw.length - 1];
  const trailingSlash = raw.length > 1 && (tail === '' || tail === '.') && parts.length > 0;
  const lastNamed = raw.filter((p) => p !== '').pop();
  return { parts, trailingSlash, trailingDot: trailingSlash && lastNamed === '.' };
}

/** True if `name` is usable as one directory entry name. */
export function nameProblem(name: string): PathProblem | null {
  if (name.length === 0) return 'ENOENT';
  if (name.includes('/') || name.includes('\u0000')) return 'EINVAL';
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX) return 'ENAMETOOLONG';
  return null;
}
