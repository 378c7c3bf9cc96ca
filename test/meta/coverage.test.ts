// dataBytesIn against a byte-by-byte model: paint each span oldest first, newest wins, count the
// bytes of the window painted with data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataBytesIn, type Span } from '../../src/meta/coverage.js';

function model(spans: readonly Span[], from: number, to: number): number {
  const paint = new Int8Array(to);
  for (const s of spans) for (let i = Math.max(0, s.pos); i < Math.min(to, s.pos + s.len); i++) paint[i] = s.id === 0 ? 2 : 1;
  let n = 0;
  for (let i = from; i < to; i++) if (paint[i] === 1) n++;
  return n;
}

const span = fc.record({ id: fc.constantFrom(0, 1, 7), pos: fc.nat(300), len: fc.integer({ min: 1, max: 120 }) });

describe('dataBytesIn', () => {
  it('counts the bytes of a window whose newest covering slice holds data', () => {
    fc.assert(fc.property(fc.array(span, { maxLength: 40 }), fc.nat(420), fc.nat(420), (spans, x, y) => {
      const [from, to] = x <= y ? [x, y] : [y, x];
      expect(dataBytesIn(spans, from, to)).toBe(model(spans, from, to));
    }), { numRuns: 3000 });
  });

  it('holes hide older data; data over a hole counts again', () => {
    expect(dataBytesIn([{ id: 1, pos: 0, len: 100 }, { id: 0, pos: 10, len: 20 }], 0, 100)).toBe(80);
    expect(dataBytesIn([{ id: 1, pos: 0, len: 100 }, { id: 0, pos: 10, len: 20 }, { id: 2, pos: 15, len: 5 }], 0, 100)).toBe(85);
    expect(dataBytesIn([], 0, 100)).toBe(0);
  });
});
