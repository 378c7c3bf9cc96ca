// Placement properties users rely on when a group changes: a join moves keys only to the new
// member, a loss moves only the lost member's keys and its backup takes them over, and members
// get keys in proportion to their weights.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rank, type RingMember } from '../../src/cachegroup/ring.js';
import { GroupKey } from '../../src/cachegroup/token.js';

const keys = Array.from({ length: 2000 }, (_, i) => `chunks/0/${Math.floor(i / 10)}/${i + 1}_0_4194304`);
const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength, maxLength });
const memberArb = fc.uniqueArray(fc.record({ id: hex(4, 16), weight: fc.integer({ min: 1, max: 8 }) }), { minLength: 2, maxLength: 8, selector: (m) => m.id });

describe('placement (weighted rendezvous hashing)', () => {
  it('a join moves keys only to the joining member; a departure moves only the departed member\'s keys, each to its former backup', () => {
    fc.assert(fc.property(memberArb, hex(17, 20), (members, newId) => {
      const joined: RingMember[] = [...members, { id: newId, weight: 1 }];
      for (const key of keys.slice(0, 300)) {
        const [before] = rank(members, key, 1);
        const [after] = rank(joined, key, 1);
        if (after!.id !== before!.id) expect(after!.id).toBe(newId);
        const [owner, backup] = rank(members, key, 2);
        const without = members.filter((m) => m.id !== owner!.id);
        expect(rank(without, key, 1)[0]!.id).toBe(backup!.id);
        // Losing any other member leaves the owner in place.
        const other = members.find((m) => m.id !== owner!.id)!;
        expect(rank(members.filter((m) => m !== other), key, 1)[0]!.id).toBe(owner!.id);
      }
    }), { numRuns: 30 });
  });

  it('rank(…, 1) agrees with the first of the full ranking, and the ranking has no repeats', () => {
    fc.assert(fc.property(memberArb, fc.integer({ min: 0, max: keys.length - 1 }), (members, i) => {
      const all = rank(members, keys[i]!);
      expect(new Set(all.map((m) => m.id)).size).toBe(members.length);
      expect(rank(members, keys[i]!, 1)[0]).toBe(all[0]);
    }));
  });

  it('members get keys in proportion to their weights', () => {
    const members = [{ id: 'a', weight: 1 }, { id: 'b', weight: 2 }, { id: 'c', weight: 1 }];
    const count = new Map<string, number>();
    for (const k of keys) {
      const id = rank(members, k, 1)[0]!.id;
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    expect(count.get('b')! / keys.length).toBeGreaterThan(0.45);
    expect(count.get('b')! / keys.length).toBeLessThan(0.55);
    expect(count.get('a')! / keys.length).toBeGreaterThan(0.2);
    expect(count.get('c')! / keys.length).toBeGreaterThan(0.2);
  });
});

describe('group tokens', () => {
  const key = new GroupKey('secret-1', 'g');
  it('a token is good for its own method and path, recently, with the same secret and group', () => {
    const now = Date.now();
    const t = key.token('GET', '/v1/blocks/x', now);
    expect(key.verify('GET', '/v1/blocks/x', t, now)).toBe(true);
    expect(key.verify('GET', '/v1/blocks/x', t, now + 4 * 60_000)).toBe(true);
    expect(key.verify('GET', '/v1/blocks/x', t, now + 6 * 60_000)).toBe(false);
    expect(key.verify('PUT', '/v1/blocks/x', t, now)).toBe(false);
    expect(key.verify('GET', '/v1/blocks/y', t, now)).toBe(false);
    expect(new GroupKey('secret-2', 'g').verify('GET', '/v1/blocks/x', t, now)).toBe(false);
    expect(new GroupKey('secret-1', 'h').verify('GET', '/v1/blocks/x', t, now)).toBe(false);
    expect(key.verify('GET', '/v1/blocks/x', undefined, now)).toBe(false);
    expect(key.verify('GET', '/v1/blocks/x', `${now}.zz`, now)).toBe(false);
  });
});
