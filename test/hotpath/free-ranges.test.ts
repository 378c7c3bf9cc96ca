// The large-buffer heap of the hot path, against a model: live allocations never overlap, free
// ranges stay sorted, disjoint and merged, space freed anywhere is reused before the top grows,
// and once everything is given back the heap is as it started.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FreeRanges } from '../../src/hotpath/free-ranges.js';

const BASE = 4096;

type Step = { kind: 'take'; size: number } | { kind: 'give'; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('take' as const), size: fc.integer({ min: 1, max: 64 }).map((n) => n * 4096) }),
  fc.record({ kind: fc.constant('give' as const), pick: fc.nat() }),
);

describe('FreeRanges', () => {
  it('keeps live space disjoint, free space merged, and reuses freed space before growing', () => {
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 300 }), (steps) => {
      const heap = new FreeRanges(BASE);
      let grownTo = BASE;
      const live: { addr: number; size: number }[] = [];
      for (const step of steps) {
        if (step.kind === 'take') {
          const fits = heap.freeRanges.some((r) => r.size >= step.size);
          const topBefore = heap.top;
          const addr = heap.take(step.size, (end) => { grownTo = Math.max(grownTo, end); });
          if (fits) expect(heap.top).toBe(topBefore);
          live.push({ addr, size: step.size });
        } else if (live.length > 0) {
          const [gone] = live.splice(step.pick % live.length, 1);
          heap.give(gone!.addr, gone!.size);
        }
        const spans = [...live.map((l) => ({ ...l, free: false })), ...heap.freeRanges.map((r) => ({ ...r, free: true }))]
          .sort((a, b) => a.addr - b.addr);
        let at = BASE;
        for (const [i, s] of spans.entries()) {
          // Live and free space tile [BASE, top) exactly, and no two free ranges touch.
          expect(s.addr).toBe(at);
          if (s.free && i > 0) expect(spans[i - 1]!.free).toBe(false);
          at = s.addr + s.size;
        }
        expect(at).toBe(heap.top);
        // Space freed at the top lowers it instead of waiting there.
        if (spans.length > 0) expect(spans[spans.length - 1]!.free).toBe(false);
        expect(heap.top).toBeLessThanOrEqual(grownTo);
        expect(heap.highWater).toBeGreaterThanOrEqual(heap.top);
      }
      for (const l of live.splice(0)) heap.give(l.addr, l.size);
      expect(heap.top).toBe(BASE);
      expect(heap.freeRanges).toEqual([]);
    }), { numRuns: 300 });
  });
});
