// Who is asking: FUSE tells uid, gid and pid of the calling thread, but not its supplementary
// groups, which permission checks need (group access through a secondary group). They are read
// from /proc/<pid>/status — a procfs read, never the own mount — and kept for a second per pid.
import { readFileSync } from 'node:fs';
import type { Caller } from '../vfs/permissions.js';

export interface RequestContext {
  uid: number;
  gid: number;
  pid: number;
}

const GROUPS_TTL_MS = 1000;
const MAX_REMEMBERED = 4096;
const groupsByPid = new Map<number, { gids: number[]; at: number; uid: number }>();

function supplementaryGroups(pid: number, uid: number): number[] {
  const now = Date.now();
  const known = groupsByPid.get(pid);
  if (known && known.uid === uid && now - known.at < GROUPS_TTL_MS) return known.gids;
  let gids: number[] = [];
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const line = /^Groups:\s*(.*)$/m.exec(status);
    if (line) gids = line[1].trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // The process is gone (or pid 0 for kernel-internal requests): primary group only.
  }
  if (groupsByPid.size >= MAX_REMEMBERED) groupsByPid.clear();
  groupsByPid.set(pid, { gids, at: now, uid });
  return gids;
}

export function callerOf(ctx: RequestContext): Caller {
  // Root needs no group lookups: every check passes for it anyway.
  if (ctx.uid === 0) return { uid: 0, gid: ctx.gid, gids: [] };
  return { uid: ctx.uid, gid: ctx.gid, gids: ctx.pid > 0 ? supplementaryGroups(ctx.pid, ctx.uid) : [] };
}
