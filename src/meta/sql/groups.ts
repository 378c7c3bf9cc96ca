// Cache-group rows: members and the group secret, kept as settings rows of this engine alone
// (the "cachegroup." prefix is local: never logged, dumped or replicated, so a mirror region
// has groups of its own). Heartbeats therefore never bump the volume's version.
import { errnoError } from '../../errors/errno.js';
import type { GroupMember } from '../meta.js';

// No "." in a group name: rows are named cachegroup.{group}.member.{id}, and group "a" must not
// take group "a.member"'s rows for its own.
const GROUP = /^[A-Za-z0-9_-]{1,64}$/;
const MEMBER = /^[A-Za-z0-9_-]{1,64}$/;

/** The settings row name of a group's `what` (a member's when `id` is given). */
export function groupRowName(group: string, what: 'member' | 'secret', id?: string): string {
  if (typeof group !== 'string' || !GROUP.test(group)) {
    throw errnoError('EINVAL', 'cache-group', undefined, `a cache group name is 1-64 letters, digits, "_" or "-", got ${JSON.stringify(group)}`);
  }
  if (id !== undefined && id !== '' && !MEMBER.test(id)) throw errnoError('EINVAL', 'cache-group', undefined, `bad member id ${JSON.stringify(id)}`);
  return what === 'secret' ? `cachegroup.${group}.secret` : `cachegroup.${group}.member.${id ?? ''}`;
}

/** A member row's value; null when it is not one (damaged rows are ignored, not fatal). */
export function parseGroupMember(value: string): Omit<GroupMember, 'id'> | null {
  try {
    const v = JSON.parse(value) as Partial<GroupMember>;
    if (typeof v.address !== 'string' || typeof v.weight !== 'number' || !(v.weight > 0)) return null;
    return { address: v.address, weight: v.weight, backup: v.backup === true, startedMs: Number(v.startedMs ?? 0), heartbeatMs: Number(v.heartbeatMs ?? 0) };
  } catch {
    return null;
  }
}

/** The group a member row belongs to (null for a secret row or anything else). */
export function groupOfRow(name: string): string | null {
  const m = /^cachegroup\.([A-Za-z0-9_-]{1,64})\.member\./.exec(name);
  return m ? m[1]! : null;
}
