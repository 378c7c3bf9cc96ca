// The hot path's checksums must be bit-exact with the reference implementations: stored blocks
// and cache files written by one build are verified by another, and by other tools.
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { xxh3 as refXxh3 } from '@node-rs/xxhash';
import { crc32c as refCrc32c } from '@node-rs/crc32';
import {
  blockChecksum,
  checksumBlocksOnPool,
  crc32c,
  keySeed,
  pieceChecksums,
  xxh3,
} from '../../src/hotpath/checksum.js';
import { hot } from '../../src/hotpath/memory.js';
import { closePool, poolMemory } from '../../src/hotpath/pool.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SEEDS = [0n, 1n, 1n << 63n, (1n << 64n) - 1n, randomBytes(8).readBigUInt64LE(0)];

/** Reference XXH3-64; the streaming class is used for big inputs (the one-shot call is slow). */
function refHash(data: Uint8Array, seed: bigint): bigint {
  if (data.byteLength < MiB) return refXxh3.xxh64(data, seed);
  return refXxh3.Xxh3.withSeed(seed).update(data).digest();
}

function refKeySeed(key: string): bigint {
  return refXxh3.xxh64(Buffer.from(key, 'utf8'), 0n);
}

/** A copy of `data` whose bytes live in WASM memory; released by the caller. */
function inWasm(data: Uint8Array): Buffer {
  const buf = hot().allocBuffer(data.byteLength);
  buf.set(data);
  return buf;
}

afterAll(async () => {
  await closePool();
});

describe('xxh3', () => {
  it('matches the reference for every length 0..4096 and several seeds, at any alignment', () => {
    const pool = randomBytes(4096 + 16);
    for (const seed of SEEDS) {
      for (let len = 0; len <= 4096; len++) {
        const at = len % 13;
        const data = pool.subarray(at, at + len);
        const got = xxh3(data, seed);
        if (got !== refHash(data, seed)) expect.fail(`length ${len} seed ${seed}: ${got} != ${refHash(data, seed)}`);
      }
    }
  });

  it('matches the reference around stripe, block and buffer-size edges', () => {
    const big = randomBytes(16 * MiB + 1);
    const lengths = [240, 241, 255, 256, 1023, 1024, 1025, 2047, 2048, 2049,
      64 * KiB - 1, 64 * KiB, 64 * KiB + 1, MiB - 1, MiB, MiB + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 16 * MiB];
    for (const len of lengths) {
      for (const seed of [0n, 1n, 1n << 63n, SEEDS[4]]) {
        const data = big.subarray(1, 1 + len);
        expect(xxh3(data, seed), `length ${len} seed ${seed}`).toBe(refHash(data, seed));
      }
    }
  });

  it('defaults the seed to 0 and returns an unsigned 64-bit value', () => {
    const data = randomBytes(5000);
    expect(xxh3(data)).toBe(refHash(data, 0n));
    for (let i = 0; i < 200; i++) {
      const h = xxh3(randomBytes(i));
      expect(h >= 0n && h < 1n << 64n).toBe(true);
    }
  });

  it('gives the same result for bytes inside WASM memory as for the same bytes outside', () => {
    for (const len of [0, 1, 17, 200, 241, 4096, 100_000, 4 * MiB + 3]) {
      const data = randomBytes(len);
      const wasm = inWasm(data);
      try {
        expect(hot().owns(wasm)).toBe(true);
        for (const seed of [0n, SEEDS[4]]) expect(xxh3(wasm, seed)).toBe(xxh3(data, seed));
        expect(xxh3(wasm, 7n)).toBe(refHash(data, 7n));
        expect(crc32c(wasm, 5)).toBe(crc32c(data, 5));
        expect(blockChecksum(wasm, 'k')).toBe(blockChecksum(data, 'k'));
        expect(pieceChecksums(wasm, 'k', 1000)).toEqual(pieceChecksums(data, 'k', 1000));
      } finally {
        hot().releaseBuffer(wasm);
      }
    }
  });

  it('hashes a subarray of a WASM buffer in place, exactly its own bytes', () => {
    const wasm = inWasm(randomBytes(10_000));
    try {
      const part = wasm.subarray(333, 333 + 5000);
      expect(hot().owns(part)).toBe(true);
      expect(xxh3(part, 3n)).toBe(refHash(Buffer.from(part), 3n));
    } finally {
      hot().releaseBuffer(wasm);
    }
  });
});

describe('block keys', () => {
  it('keySeed is XXH3-64 (seed 0) of the UTF-8 key', () => {
    for (const key of ['', 'a', 'vol/chunks/0/0/1_0_4194304', 'ünïcødé/键/🙂', 'x'.repeat(5000), '\ud800lone']) {
      expect(keySeed(key)).toBe(refKeySeed(key));
    }
  });

  it('blockChecksum is XXH3-64 seeded with the key, and changes with the key', () => {
    const data = randomBytes(4 * MiB);
    const a = 'vol/chunks/0/0/17_0_4194304';
    const b = 'vol/chunks/0/0/17_1_4194304';
    expect(blockChecksum(data, a)).toBe(refHash(data, refKeySeed(a)));
    expect(blockChecksum(data, a)).not.toBe(blockChecksum(data, b));
    const small = randomBytes(100);
    expect(blockChecksum(small, a)).not.toBe(blockChecksum(small, b));
    expect(blockChecksum(new Uint8Array(0), a)).not.toBe(blockChecksum(new Uint8Array(0), b));
  });
});

describe('pieceChecksums', () => {
  it('hashes every piece (the last one shorter) like the reference does piece by piece', () => {
    const data = randomBytes(MiB + 5);
    const key = 'vol/chunks/0/0/9_3_1048581';
    const seed = refKeySeed(key);
    for (const len of [0, 1, 240, 241, 32 * KiB - 1, 32 * KiB, 32 * KiB + 1, 100_000, MiB + 5]) {
      for (const piece of [1, 16, 240, 241, 1000, 32 * KiB, 64 * KiB, MiB + 5, 10 * MiB]) {
        if (len / piece > 2000) continue; // keep the reference loop short
        const slice = data.subarray(0, len);
        const got = pieceChecksums(slice, key, piece);
        const want: bigint[] = [];
        for (let off = 0; off < len; off += piece) want.push(refHash(slice.subarray(off, off + piece), seed));
        expect(Array.from(got), `length ${len} piece ${piece}`).toEqual(want);
      }
    }
  });

  it('uses 32 KiB pieces by default', () => {
    const data = randomBytes(100_000);
    const got = pieceChecksums(data, 'k');
    expect(got.length).toBe(4);
    expect(got[3]).toBe(refHash(data.subarray(3 * 32 * KiB), refKeySeed('k')));
  });
});

describe('crc32c', () => {
  it('matches the reference for every length 0..2048 at any alignment', () => {
    const pool = randomBytes(2048 + 16);
    for (let len = 0; len <= 2048; len++) {
      const at = len % 11;
      const data = pool.subarray(at, at + len);
      const got = crc32c(data);
      if (got !== refCrc32c(data, 0)) expect.fail(`length ${len}: ${got} != ${refCrc32c(data, 0)}`);
    }
  });

  it('matches the reference on big buffers and with an initial value', () => {
    const big = randomBytes(16 * MiB + 3);
    for (const len of [64 * KiB + 1, 4 * MiB - 1, 4 * MiB, 16 * MiB + 3]) {
      const data = big.subarray(0, len);
      expect(crc32c(data)).toBe(refCrc32c(data, 0));
      expect(crc32c(data, 0xdeadbeef)).toBe(refCrc32c(data, 0xdeadbeef));
    }
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value
  });

  it('continues: crc32c(a + b) == crc32c(b, crc32c(a))', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const whole = Buffer.concat([a, b]);
        expect(crc32c(b, crc32c(a))).toBe(crc32c(whole));
        expect(crc32c(whole)).toBe(refCrc32c(whole, 0));
      }),
      { numRuns: 300 },
    );
  });
});

describe('checksumBlocksOnPool', () => {
  it('gives the same checksums as inline, for blocks inside and outside WASM memory', async () => {
    const outside = [0, 1, 240, 4 * MiB, 1000, 64 * KiB + 1].map((len, i) => ({ data: randomBytes(len), key: `vol/chunks/0/0/${i}_0_${len}` }));
    const inside = [4 * MiB, 241].map((len, i) => ({ data: inWasm(randomBytes(len)), key: `vol/chunks/0/0/${i + 10}_0_${len}` }));
    try {
      const blocks = [...outside, ...inside];
      const got = await checksumBlocksOnPool(blocks);
      expect(got).toEqual(blocks.map((b) => blockChecksum(b.data, b.key)));
      expect(got).toEqual(blocks.map((b) => refHash(b.data, refKeySeed(b.key))));
      // Copies made for the workers are given back: later batches reserve nothing new.
      const reserved = poolMemory().reserved;
      const mainReserved = hot().reserved;
      for (let i = 0; i < 5; i++) await checksumBlocksOnPool(blocks);
      expect(poolMemory().reserved).toBe(reserved);
      expect(hot().reserved).toBe(mainReserved);
      // Several batches at once, each on some worker, each with its own scratch.
      const many = await Promise.all([0n, 1n, 2n, 3n].map(() => checksumBlocksOnPool(blocks)));
      for (const r of many) expect(r).toEqual(got);
      expect(await checksumBlocksOnPool([])).toEqual([]);
    } finally {
      for (const b of inside) hot().releaseBuffer(b.data);
    }
  });
});

describe('bad arguments', () => {
  it('throw TypeError/RangeError naming the argument', async () => {
    const data = new Uint8Array(8);
    const bad = (f: () => unknown, type: typeof TypeError | typeof RangeError, name: string | RegExp) => {
      expect(f).toThrow(type);
      expect(f).toThrow(name);
    };
    bad(() => xxh3('abc' as unknown as Uint8Array), TypeError, 'data');
    bad(() => xxh3([1, 2] as unknown as Uint8Array), TypeError, 'data');
    bad(() => xxh3(new Uint16Array(2) as unknown as Uint8Array), TypeError, 'data');
    bad(() => xxh3(data, 1 as unknown as bigint), TypeError, 'seed');
    bad(() => xxh3(data, -1n), RangeError, 'seed');
    bad(() => xxh3(data, 1n << 64n), RangeError, 'seed');
    bad(() => keySeed(5 as unknown as string), TypeError, 'key');
    bad(() => blockChecksum(null as unknown as Uint8Array, 'k'), TypeError, 'data');
    bad(() => blockChecksum(data, undefined as unknown as string), TypeError, 'key');
    bad(() => pieceChecksums(data, 'k', 0), RangeError, 'pieceSize');
    bad(() => pieceChecksums(data, 'k', -5), RangeError, 'pieceSize');
    bad(() => pieceChecksums(data, 'k', 1.5), RangeError, 'pieceSize');
    bad(() => pieceChecksums(data, 'k', NaN), RangeError, 'pieceSize');
    bad(() => pieceChecksums(data, 'k', 2 ** 32), RangeError, 'pieceSize');
    bad(() => pieceChecksums(data, 'k', '4096' as unknown as number), TypeError, 'pieceSize');
    bad(() => crc32c({} as unknown as Uint8Array), TypeError, 'data');
    bad(() => crc32c(data, -1), RangeError, 'initial');
    bad(() => crc32c(data, 2 ** 32), RangeError, 'initial');
    bad(() => crc32c(data, 0.5), RangeError, 'initial');
    await expect(checksumBlocksOnPool('x' as unknown as [])).rejects.toThrow(/blocks/);
    await expect(checksumBlocksOnPool([{ data, key: 'k' }, { data: 'no', key: 'k' } as unknown as { data: Uint8Array; key: string }]))
      .rejects.toThrow(/blocks\[1\]\.data/);
    await expect(checksumBlocksOnPool([{ data, key: 3 } as unknown as { data: Uint8Array; key: string }]))
      .rejects.toThrow(/blocks\[0\]\.key/);
  });

  it('leave no allocation behind', () => {
    const reserved = hot().reserved;
    expect(() => pieceChecksums(randomBytes(5000), 'k', 0)).toThrow(RangeError);
    expect(() => xxh3(randomBytes(5000), -1n)).toThrow(RangeError);
    expect(hot().reserved).toBe(reserved);
  });
});

describe('memory', () => {
  it("the main thread's memory is private and made whole, so Buffers over it never detach", () => {
    const mem = hot();
    // Booleans, not toBeInstanceOf(): a failure would make vitest print all 4 GiB of the memory.
    expect(mem.memory.buffer instanceof SharedArrayBuffer).toBe(false);
    const early = mem.allocBuffer(64 * KiB);
    early.fill(7);
    // Far more than the memory started with: a growing private memory would detach `early`.
    const big = Array.from({ length: 8 }, () => mem.allocBuffer(64 * MiB));
    try {
      expect(early.byteLength).toBe(64 * KiB);
      expect(early.every((b) => b === 7)).toBe(true);
      expect(mem.owns(big[7])).toBe(true);
    } finally {
      for (const b of big) mem.releaseBuffer(b);
      mem.releaseBuffer(early);
    }
  });

  it("the pool's memory is shared with its workers", () => {
    expect(poolMemory().memory.buffer instanceof SharedArrayBuffer).toBe(true);
    const mine = hot().allocBuffer(1);
    expect(poolMemory().owns(mine)).toBe(false);
    hot().releaseBuffer(mine);
  });

  it('100,000 mixed calls keep WASM reservations and process RSS flat', () => {
    const small = randomBytes(100);
    const medium = randomBytes(70_000);
    const large = randomBytes(MiB + 7);
    const wasm = inWasm(randomBytes(300_000));
    const keys = Array.from({ length: 64 }, (_, i) => `vol/chunks/0/${i}/${i * 7}_0_4194304`);
    let sink = 0n;
    const round = (i: number) => {
      const key = keys[i & 63];
      switch (i % 8) {
        case 0: sink ^= xxh3(small, BigInt(i)); break;
        case 1: sink ^= blockChecksum(medium, key); break;
        case 2: sink ^= keySeed(key); break;
        case 3: sink ^= BigInt(crc32c(medium.subarray(i % 1000))); break;
        case 4: sink ^= pieceChecksums(medium, key, 4096)[0]; break;
        case 5: sink ^= xxh3(wasm.subarray(i % 100), 9n); break;
        case 6: sink ^= i % 64 === 6 ? xxh3(large) : xxh3(small.subarray(0, i % 100)); break;
        case 7: sink ^= pieceChecksums(wasm, key)[1]; break;
      }
    };
    try {
      for (let i = 0; i < 10_000; i++) round(i);
      const reserved = hot().reserved;
      const rss = process.memoryUsage().rss;
      for (let i = 0; i < 100_000; i++) round(i);
      expect(hot().reserved).toBe(reserved);
      const growth = process.memoryUsage().rss - rss;
      expect(growth).toBeLessThan(8 * MiB);
      expect(typeof sink).toBe('bigint');
    } finally {
      hot().releaseBuffer(wasm);
    }
  });
});
