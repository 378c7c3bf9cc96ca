// POSIX permission rules from uid/gid/groups and mode bits. The vfs is the only layer that
// applies them; meta only keeps the bits.
import { S_IFDIR, S_IFMT, S_ISGID, S_ISUID, X_OK } from './constants.js';

/** Who is calling: the FUSE bridge fills this from the request, the SDK from its options. */
export interface Caller {
  uid: number;
  gid: number;
  /** Supplementary groups (may or may not repeat `gid`). */
  gids: readonly number[];
}

/** The owner and mode of an inode: all a permission check needs. `mode` carries the type bits. */
export interface Owned {
  mode: number;
  uid: number;
  gid: number;
}

export const ROOT_CALLER: Caller = Object.freeze({ uid: 0, gid: 0, gids: Object.freeze([]) as readonly number[] });

export function isRoot(caller: Caller): boolean {
  return caller.uid === 0;
}

export function inGroup(caller: Caller, gid: number): boolean {
  return caller.gid === gid || caller.gids.includes(gid);
}

/** True if `caller` may access `node` for every bit of `mask` (R_OK|W_OK|X_OK). Root passes
 * everything except execute of a non-directory that has no execute bit at all. */
export function permits(node: Owned, caller: Caller, mask: number): boolean {
  const want = mask & 7;
  if (want === 0) return true;
  if (isRoot(caller)) {
    if ((want & X_OK) === 0) return true;
    if ((node.mode & S_IFMT) === S_IFDIR) return true;
    return (node.mode & 0o111) !== 0;
  }
  let bits: number;
  if (caller.uid === node.uid) bits = (node.mode >> 6) & 7;
  else if (inGroup(caller, node.gid)) bits = (node.mode >> 3) & 7;
  else bits = node.mode & 7;
  return (bits & want) === want;
}

/** Owner or root: who may chmod, set explicit times, or change xattrs in the trusted sense. */
export function ownsOrRoot(node: Owned, caller: Caller): boolean {
  return isRoot(caller) || caller.uid === node.uid;
}

/** The mode chmod actually stores: a non-root caller outside the file's group cannot set setgid
 * on it (Linux clears the bit silently rather than failing). */
export function chmodResult(node: Owned, caller: Caller, requested: number): number {
  let perms = requested & 0o7777;
  if (!isRoot(caller) && (node.mode & S_IFMT) !== S_IFDIR && !inGroup(caller, node.gid)) perms &= ~S_ISGID;
  return perms;
}

/** The group and setgid bit a new entry gets in `parent`: a setgid directory hands down its group,
 * and a new subdirectory also inherits the setgid bit itself. */
export function inheritedOwnership(parent: Owned, caller: Caller, isDir: boolean, mode: number): { gid: number; mode: number } {
  if ((parent.mode & S_ISGID) === 0) return { gid: caller.gid, mode };
  return { gid: parent.gid, mode: isDir ? mode | S_ISGID : mode };
}

/** The mode a regular file keeps after chown(2): setuid goes, and setgid when the group may
 * execute (without group execute it marks mandatory locking, which stays). Also what the kernel
 * computes when it asks a FUSE server to clear privileges before a write. */
export function withoutPrivileges(mode: number): number {
  let m = mode & ~S_ISUID;
  if ((m & 0o010) !== 0) m &= ~S_ISGID;
  return m;
}

/** The mode a regular file keeps after `caller` writes to or truncates it, as Linux's
 * setattr_should_drop_suidgid decides: root (CAP_FSETID) keeps both bits; anyone else drops
 * setuid, and setgid too when the group may execute or the caller is not in the file's group. */
export function modeAfterWrite(node: Owned, caller: Caller): number {
  if (isRoot(caller)) return node.mode;
  let m = node.mode & ~S_ISUID;
  if ((m & S_ISGID) !== 0 && ((m & 0o010) !== 0 || !inGroup(caller, node.gid))) m &= ~S_ISGID;
  return m;
}
