// Placement of block keys on the members of a cache group: weighted rendezvous hashing (highest
// random weight). Every member gets a score per key, -weight / ln(u) with u a hash of (member,
// key) in (0, 1); the highest score owns the key and the next one keeps its backup copy. A member
// that joins or leaves moves only the keys it wins or held; and when the owner goes, its backup is
// next in line already, so the second copy is where readers look first. (A hash ring with virtual
// nodes would do as well; this needs no tuning and no table, and groups are tens of members.)
import { createHash } from 'node:crypto';

export interface RingMember {
  id: string;
  weight: number;
}

const TWO_53 = 2 ** 53;

/** u in (0, 1) from 53 bits of SHA-1 of member and key (stable across processes and versions). */
function unit(memberId: string, key: string): number {
  const h = createHash('sha1').update(memberId).update('\0').update(key).digest();
  const bits = h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11);
  return (bits + 0.5) / TWO_53;
}

function score(m: RingMember, key: string): number {
  return -m.weight / Math.log(unit(m.id, key));
}

/** The first `n` members for `key`, best first: [owner, backup, ...]. */
export function rank<T extends RingMember>(members: readonly T[], key: string, n = members.length): T[] {
  if (n <= 0 || members.length === 0) return [];
  if (n === 1) {
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const m of members) {
      const s = score(m, key);
      if (s > bestScore || (s === bestScore && best !== undefined && m.id < best.id)) {
        best = m;
        bestScore = s;
      }
    }
    return best ? [best] : [];
  }
  return members
    .map((m) => ({ m, s: score(m, key) }))
    .sort((a, b) => b.s - a.s || (a.m.id < b.m.id ? -1 : 1))
    .slice(0, n)
    .map((x) => x.m);
}
