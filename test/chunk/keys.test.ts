// Block names are the contract with mirrors, caches and gc: they must be exactly the layout's.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blockKey, parseBlockKey, sliceBlockKeys } from '../../src/chunk/keys.js';

const KiB = 1024;

describe('block keys', () => {
  it('follow chunks/{id/1e6}/{id/1e3}/{id}_{index}_{length}', () => {
    expect(blockKey(1, 0, 4096)).toBe('chunks/0/0/1_0_4096');
    expect(blockKey(123_456_789, 3, 65536)).toBe('chunks/123/123456/123456789_3_65536');
    expect(blockKey(999_999, 1, 5)).toBe('chunks/0/999/999999_1_5');
    expect(blockKey(1_000_000, 0, 1)).toBe('chunks/1/1000/1000000_0_1');
  });

  it('cut a slice into full blocks and one shorter last block', () => {
    expect(sliceBlockKeys(7, 3 * 64 * KiB + 100, 64 * KiB)).toEqual([
      'chunks/0/0/7_0_65536',
      'chunks/0/0/7_1_65536',
      'chunks/0/0/7_2_65536',
      'chunks/0/0/7_3_100',
    ]);
    expect(sliceBlockKeys(7, 128 * KiB, 64 * KiB)).toEqual(['chunks/0/0/7_0_65536', 'chunks/0/0/7_1_65536']);
    expect(sliceBlockKeys(7, 0, 64 * KiB)).toEqual([]);
  });

  it('parse back to what they name, with or without a volume prefix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.nat(1024), fc.integer({ min: 1, max: 16 << 20 }), (id, i, len) => {
        const key = blockKey(id, i, len);
        expect(parseBlockKey(key)).toEqual({ sliceId: id, blockIndex: i, blockLength: len });
        expect(parseBlockKey(`vol/${key}`)).toEqual({ sliceId: id, blockIndex: i, blockLength: len });
      }),
    );
  });

  it('refuse names that are not canonical block keys', () => {
    for (const bad of ['chunks/0/0/1_0', 'chunks/0/1/1_0_4096', 'chunks/0/0/01_0_4096', 'chunks/0/0/0_0_4096', 'xchunks/0/0/1_0_1', 'chunks/0/0/1_0_4096/x']) {
      expect(parseBlockKey(bad), bad).toBeNull();
    }
  });

  it('reject bad slice ids and sizes with the argument named', () => {
    expect(() => sliceBlockKeys(0, 10, 64 * KiB)).toThrow(/id/);
    expect(() => sliceBlockKeys(1.5, 10, 64 * KiB)).toThrow(RangeError);
    expect(() => sliceBlockKeys(1, -1, 64 * KiB)).toThrow(/size/);
    expect(() => sliceBlockKeys(1, 65 * 1024 * KiB, 64 * KiB)).toThrow(/size/);
  });
});
