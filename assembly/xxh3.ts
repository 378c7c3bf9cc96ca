// XXH3-64 (xxHash v0.8 "XXH3_64bits_withSeed"), bit-exact with the reference implementation.
// Short inputs (<= 240 bytes) use scalar code; the long path runs on WASM SIMD. Memory is shared
// between threads, so the only mutable state (the seeded secret and the accumulators) lives in
// caller-provided scratch.

const PRIME32_1: u64 = 0x9e3779b1;
const PRIME32_2: u64 = 0x85ebca77;
const PRIME32_3: u64 = 0xc2b2ae3d;
const PRIME64_1: u64 = 0x9e3779b185ebca87;
const PRIME64_2: u64 = 0xc2b2ae3d27d4eb4f;
const PRIME64_3: u64 = 0x165667b19e3779f9;
const PRIME64_4: u64 = 0x85ebca77c2b2ae63;
const PRIME64_5: u64 = 0x27d4eb2f165667c5;
const PRIME_MX1: u64 = 0x165667919e3779f9;
const PRIME_MX2: u64 = 0x9fb21c651e98df25;

const SECRET_SIZE: usize = 192;
const STRIPE_LEN: usize = 64;
const STRIPES_PER_BLOCK: usize = (SECRET_SIZE - STRIPE_LEN) / 8; // 16
const MIDSIZE_MAX: usize = 240;

// Scratch layout: the accumulators (64 bytes), then the seeded secret (192 bytes).
const SCRATCH_ACC: usize = 0;
const SCRATCH_SECRET: usize = 64;

// The default secret of the XXH3 specification.
const K_SECRET: usize = memory.data<u8>([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
], 16);

// ---- scalar helpers ----

@inline function rd64(p: usize): u64 {
  return load<u64>(p);
}

@inline function rd32(p: usize): u64 {
  return <u64>load<u32>(p);
}

// Low 64 bits xor high 64 bits of the 128-bit product: WASM has no 64x64->128 multiply.
@inline function mul128Fold64(a: u64, b: u64): u64 {
  const aLo = a & 0xffffffff;
  const aHi = a >> 32;
  const bLo = b & 0xffffffff;
  const bHi = b >> 32;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  const cross = (loLo >> 32) + (hiLo & 0xffffffff) + loHi;
  const upper = (hiLo >> 32) + (cross >> 32) + hiHi;
  const lower = (cross << 32) | (loLo & 0xffffffff);
  return lower ^ upper;
}

@inline function xxh64Avalanche(h: u64): u64 {
  h ^= h >> 33;
  h *= PRIME64_2;
  h ^= h >> 29;
  h *= PRIME64_3;
  h ^= h >> 32;
  return h;
}

@inline function avalanche(h: u64): u64 {
  h ^= h >> 37;
  h *= PRIME_MX1;
  h ^= h >> 32;
  return h;
}

@inline function rrmxmx(h: u64, len: u64): u64 {
  h ^= rotl<u64>(h, 49) ^ rotl<u64>(h, 24);
  h *= PRIME_MX2;
  h ^= (h >> 35) + len;
  h *= PRIME_MX2;
  h ^= h >> 28;
  return h;
}

@inline function mix16B(p: usize, s: usize, seed: u64): u64 {
  return mul128Fold64(rd64(p) ^ (rd64(s) + seed), rd64(p + 8) ^ (rd64(s + 8) - seed));
}

// ---- short inputs: always the default secret, seed mixed in directly ----

function len0to16(p: usize, len: usize, seed: u64): u64 {
  const s = K_SECRET;
  if (len > 8) {
    const bitflip1 = (rd64(s + 24) ^ rd64(s + 32)) + seed;
    const bitflip2 = (rd64(s + 40) ^ rd64(s + 48)) - seed;
    const lo = rd64(p) ^ bitflip1;
    const hi = rd64(p + len - 8) ^ bitflip2;
    const acc = <u64>len + bswap<u64>(lo) + hi + mul128Fold64(lo, hi);
    return avalanche(acc);
  }
  if (len >= 4) {
    const sd = seed ^ (<u64>bswap<u32>(<u32>seed) << 32);
    const in1 = rd32(p);
    const in2 = rd32(p + len - 4);
    const bitflip = (rd64(s + 8) ^ rd64(s + 16)) - sd;
    const in64 = in2 + (in1 << 32);
    return rrmxmx(in64 ^ bitflip, <u64>len);
  }
  if (len > 0) {
    const c1 = <u32>load<u8>(p);
    const c2 = <u32>load<u8>(p + (len >> 1));
    const c3 = <u32>load<u8>(p + len - 1);
    const combined = (c1 << 16) | (c2 << 24) | c3 | (<u32>len << 8);
    const bitflip = (rd32(s) ^ rd32(s + 4)) + seed;
    return xxh64Avalanche(<u64>combined ^ bitflip);
  }
  return xxh64Avalanche(seed ^ (rd64(s + 56) ^ rd64(s + 64)));
}

function len17to128(p: usize, len: usize, seed: u64): u64 {
  const s = K_SECRET;
  let acc = <u64>len * PRIME64_1;
  if (len > 32) {
    if (len > 64) {
      if (len > 96) {
        acc += mix16B(p + 48, s + 96, seed);
        acc += mix16B(p + len - 64, s + 112, seed);
      }
      acc += mix16B(p + 32, s + 64, seed);
      acc += mix16B(p + len - 48, s + 80, seed);
    }
    acc += mix16B(p + 16, s + 32, seed);
    acc += mix16B(p + len - 32, s + 48, seed);
  }
  acc += mix16B(p, s, seed);
  acc += mix16B(p + len - 16, s + 16, seed);
  return avalanche(acc);
}

function len129to240(p: usize, len: usize, seed: u64): u64 {
  const s = K_SECRET;
  let acc = <u64>len * PRIME64_1;
  for (let i: usize = 0; i < 8; i++) acc += mix16B(p + 16 * i, s + 16 * i, seed);
  // 136 = minimum secret size, 17 = "last offset" of the mid-size path.
  let accEnd = mix16B(p + len - 16, s + 136 - 17, seed);
  acc = avalanche(acc);
  const rounds = len >> 4;
  for (let i: usize = 8; i < rounds; i++) accEnd += mix16B(p + 16 * i, s + 16 * (i - 8) + 3, seed);
  return avalanche(acc + accEnd);
}

// ---- long inputs: stripes of 64 bytes, 4 v128 accumulators of two u64 lanes each ----

// One stripe: acc[i ^ 1] += data[i]; acc[i] += lo32(data[i] ^ key[i]) * hi32(data[i] ^ key[i]).
// The 32x32->64 products come from extmul after a shuffle that gathers the low halves of two
// lane pairs into one vector and the high halves into another (i64x2.mul costs 3 multiplies in V8).
// The loop keeps each accumulator pair with its two lanes swapped (s[j] = acc[j ^ 1]): the data
// then adds straight in, and the gathering shuffle emits the products already swapped, so the
// hot loop needs no lane swap at all. The scramble is lane-wise, so it just takes a swapped key.
// Runs `stripes` stripes from p, the secret advancing 8 bytes per stripe; after every `perBlock`
// stripes (never if 0) the accumulators are scrambled with `scrambleKey` and the secret starts over. The accumulators live in
// locals for the whole run and are loaded from / stored to `acc` once.
function accumulate(acc: usize, p: usize, secret: usize, stripes: usize, perBlock: usize, scrambleKey: usize): void {
  let s0 = swapLanes(v128.load(acc));
  let s1 = swapLanes(v128.load(acc, 16));
  let s2 = swapLanes(v128.load(acc, 32));
  let s3 = swapLanes(v128.load(acc, 48));
  const key0 = swapLanes(v128.load(scrambleKey));
  const key1 = swapLanes(v128.load(scrambleKey, 16));
  const key2 = swapLanes(v128.load(scrambleKey, 32));
  const key3 = swapLanes(v128.load(scrambleKey, 48));
  let s = secret;
  let k: usize = 0;
  for (let n: usize = 0; n < stripes; n++) {
    const d0 = v128.load(p);
    const d1 = v128.load(p, 16);
    const d2 = v128.load(p, 32);
    const d3 = v128.load(p, 48);
    const x0 = v128.xor(d0, v128.load(s));
    const x1 = v128.xor(d1, v128.load(s, 16));
    const x2 = v128.xor(d2, v128.load(s, 32));
    const x3 = v128.xor(d3, v128.load(s, 48));
    // As 32-bit lanes x = [lo0, hi0, lo1, hi1]; gather [lo1, lo0 | lo1', lo0'] and likewise the highs.
    const lo01 = i32x4.shuffle(x0, x1, 2, 0, 6, 4);
    const hi01 = i32x4.shuffle(x0, x1, 3, 1, 7, 5);
    const lo23 = i32x4.shuffle(x2, x3, 2, 0, 6, 4);
    const hi23 = i32x4.shuffle(x2, x3, 3, 1, 7, 5);
    s0 = i64x2.add(s0, i64x2.add(d0, i64x2.extmul_low_i32x4_u(lo01, hi01)));
    s1 = i64x2.add(s1, i64x2.add(d1, i64x2.extmul_high_i32x4_u(lo01, hi01)));
    s2 = i64x2.add(s2, i64x2.add(d2, i64x2.extmul_low_i32x4_u(lo23, hi23)));
    s3 = i64x2.add(s3, i64x2.add(d3, i64x2.extmul_high_i32x4_u(lo23, hi23)));
    p += STRIPE_LEN;
    s += 8;
    if (++k == perBlock) {
      s0 = scrambleLane(s0, key0);
      s1 = scrambleLane(s1, key1);
      s2 = scrambleLane(s2, key2);
      s3 = scrambleLane(s3, key3);
      k = 0;
      s = secret;
    }
  }
  v128.store(acc, swapLanes(s0));
  v128.store(acc, swapLanes(s1), 16);
  v128.store(acc, swapLanes(s2), 32);
  v128.store(acc, swapLanes(s3), 48);
}

@inline function swapLanes(v: v128): v128 {
  return i64x2.shuffle(v, v, 1, 0);
}

// acc = (acc ^ (acc >> 47) ^ key) * PRIME32_1, the 64x32 multiply split into an extmul of the
// low halves plus the (wrapping) product of the high halves, which lands in the upper 32 bits.
@inline function scrambleLane(a: v128, k: v128): v128 {
  const x = v128.xor(v128.xor(a, i64x2.shr_u(a, 47)), k);
  const prime = i32x4.splat(<i32>PRIME32_1);
  const lows = i32x4.shuffle(x, x, 0, 2, 1, 3);
  const lowProd = i64x2.extmul_low_i32x4_u(lows, prime);
  // Lanes 1 and 3 of the 32-bit product are lo32(high half * prime), already in place.
  const highProd = v128.and(i32x4.mul(x, prime), i32x4(0, -1, 0, -1));
  return i64x2.add(lowProd, highProd);
}

function hashLong(p: usize, len: usize, secret: usize, acc: usize): u64 {
  store<u64>(acc, PRIME32_3);
  store<u64>(acc, PRIME64_1, 8);
  store<u64>(acc, PRIME64_2, 16);
  store<u64>(acc, PRIME64_3, 24);
  store<u64>(acc, PRIME64_4, 32);
  store<u64>(acc, PRIME32_2, 40);
  store<u64>(acc, PRIME64_5, 48);
  store<u64>(acc, PRIME32_1, 56);

  // Every stripe but the last, scrambling after each full block of 16 stripes.
  const scrambleKey = secret + SECRET_SIZE - STRIPE_LEN;
  accumulate(acc, p, secret, (len - 1) / STRIPE_LEN, STRIPES_PER_BLOCK, scrambleKey);
  // The last stripe always ends at the input's last byte (it may overlap the previous one);
  // 7 = "last accumulator start" offset into the secret.
  accumulate(acc, p + len - STRIPE_LEN, secret + SECRET_SIZE - STRIPE_LEN - 7, 1, 0, scrambleKey);

  // Merge the 8 accumulators with the secret from byte 11 on.
  let result = <u64>len * PRIME64_1;
  const ms = secret + 11;
  for (let i: usize = 0; i < 4; i++) {
    result += mul128Fold64(rd64(acc + 16 * i) ^ rd64(ms + 16 * i), rd64(acc + 16 * i + 8) ^ rd64(ms + 16 * i + 8));
  }
  return avalanche(result);
}

// The secret a seed implies for long inputs: 16-byte pairs of (kSecret + seed, kSecret - seed).
function deriveSecret(seed: u64, out: usize): void {
  for (let i: usize = 0; i < SECRET_SIZE; i += 16) {
    store<u64>(out + i, rd64(K_SECRET + i) + seed);
    store<u64>(out + i + 8, rd64(K_SECRET + i + 8) - seed);
  }
}

// `secret` is the secret for long inputs (kSecret when seed is 0, else derived from seed).
function hashWith(p: usize, len: usize, seed: u64, secret: usize, scratch: usize): u64 {
  if (len <= 16) return len0to16(p, len, seed);
  if (len <= 128) return len17to128(p, len, seed);
  if (len <= MIDSIZE_MAX) return len129to240(p, len, seed);
  return hashLong(p, len, secret, scratch + SCRATCH_ACC);
}

function longSecret(seed: u64, scratch: usize): usize {
  if (seed == 0) return K_SECRET;
  const s = scratch + SCRATCH_SECRET;
  deriveSecret(seed, s);
  return s;
}

/** XXH3-64 of [ptr, ptr+len) with `seed`. `scratch` must hold 256 writable bytes of this thread. */
export function xxh3_64(ptr: usize, len: usize, seed: u64, scratch: usize): u64 {
  const secret = len > MIDSIZE_MAX ? longSecret(seed, scratch) : K_SECRET;
  return hashWith(ptr, len, seed, secret, scratch);
}

/** XXH3-64 of every `piece`-byte piece of [ptr, ptr+len) (the last may be shorter), written as
 * u64 little-endian from `out`; returns the number of pieces (0 for empty input or piece 0). */
export function xxh3_64_pieces(ptr: usize, len: usize, piece: usize, seed: u64, out: usize, scratch: usize): u32 {
  if (piece == 0) return 0;
  const secret = min(piece, len) > MIDSIZE_MAX ? longSecret(seed, scratch) : K_SECRET;
  let count: u32 = 0;
  let left = len;
  while (left > 0) {
    const n = min(piece, left);
    store<u64>(out + (<usize>count << 3), hashWith(ptr + (len - left), n, seed, secret, scratch));
    left -= n;
    count++;
  }
  return count;
}
