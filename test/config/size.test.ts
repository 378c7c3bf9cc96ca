import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSize, parseBlockSize, parseSize } from '../../src/config/size.js';

describe('parseSize', () => {
  it('reads bytes and binary units the way users write them', () => {
    const cases: [string | number, number][] = [
      ['0', 0],
      ['4096', 4096],
      [4096, 4096],
      ['512B', 512],
      ['64K', 64 * 1024],
      ['64k', 64 * 1024],
      ['64KB', 64 * 1024],
      ['64Ki', 64 * 1024],
      ['64KiB', 64 * 1024],
      ['4M', 4 * 2 ** 20],
      ['4MiB', 4 * 2 ** 20],
      ['4 MiB', 4 * 2 ** 20],
      ['1G', 2 ** 30],
      ['1.5G', 1.5 * 2 ** 30],
      ['.5K', 512],
      ['2T', 2 * 2 ** 40],
      ['1P', 2 ** 50],
      [' 8M ', 8 * 2 ** 20],
    ];
    for (const [input, bytes] of cases) expect(parseSize(input), JSON.stringify(input)).toBe(bytes);
  });

  it('rejects what is not a size, naming the setting and the input', () => {
    for (const bad of ['', '  ', 'abc', '4X', '4MM', 'M', '4iB', '4i', '-1', '-4M', '1e6', '0x10', '4 M B', '4,5M', '4..5M']) {
      expect(() => parseSize(bad, 'buffer size'), JSON.stringify(bad)).toThrow(RangeError);
      expect(() => parseSize(bad, 'buffer size'), JSON.stringify(bad)).toThrow(/buffer size/);
    }
    expect(() => parseSize('4X', 'cache size')).toThrow('cache size "4X" is not a size');
    expect(() => parseSize('0.1K')).toThrow(/whole number of bytes/);
    expect(() => parseSize('9000P')).toThrow(/too large/);
    expect(() => parseSize(-1)).toThrow(RangeError);
    expect(() => parseSize(1.5)).toThrow(RangeError);
    expect(() => parseSize(Number.NaN)).toThrow(RangeError);
    expect(() => parseSize(null as unknown as string)).toThrow(TypeError);
  });

  it('round-trips with formatSize for every whole number of bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseSize(formatSize(n))).toBe(n);
      }),
    );
    expect(formatSize(4 * 2 ** 20)).toBe('4M');
    expect(formatSize(1536)).toBe('1.5K');
    expect(formatSize(1000)).toBe('1000');
  });
});

describe('parseBlockSize', () => {
  it('accepts every power of two from 64K to 16M', () => {
    for (let b = 64 * 1024; b <= 16 * 2 ** 20; b *= 2) {
      expect(parseBlockSize(b)).toBe(b);
      expect(parseBlockSize(formatSize(b))).toBe(b);
    }
    expect(parseBlockSize('4MiB')).toBe(4 * 2 ** 20);
  });

  it('refuses sizes outside 64K..16M or not a power of two, saying what would work', () => {
    expect(() => parseBlockSize('32K')).toThrow('block size "32K" is 32768 bytes, outside the allowed 64K..16M; the default is 4M');
    expect(() => parseBlockSize('32M')).toThrow(/outside the allowed 64K\.\.16M/);
    expect(() => parseBlockSize('100K')).toThrow('block size "100K" (102400 bytes) is not a power of two; use e.g. 64K or 128K');
    expect(() => parseBlockSize('3M')).toThrow(/use e\.g\. 2M or 4M/);
    expect(() => parseBlockSize('4096')).toThrow(/did you mean 4096K\?/);
    expect(() => parseBlockSize('0')).toThrow(RangeError);
    expect(() => parseBlockSize('big', '--block-size')).toThrow(/--block-size "big"/);
  });
});
