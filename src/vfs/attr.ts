// The attributes the vfs hands to its callers (SDK, FUSE bridge): one shape, whatever the
// metadata engine stores.
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './constants.js';

export interface Attr {
  ino: number;
  /** File type bits | permission bits (as st_mode). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** Space taken in 512-byte units (st_blocks): stored data, not holes. */
  blocks: number;
  /** Times in nanoseconds since the epoch. */
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
}

export function isDir(attr: { mode: number }): boolean {
  return (attr.mode & S_IFMT) === S_IFDIR;
}

export function isSymlink(attr: { mode: number }): boolean {
  return (attr.mode & S_IFMT) === S_IFLNK;
}

export function isRegular(attr: { mode: number }): boolean {
  return (attr.mode & S_IFMT) === S_IFREG;
}
