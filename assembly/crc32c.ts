// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-16.
// Table k maps a byte to its CRC contribution k bytes before the end of a 16-byte slice.
// The tables are filled by top-level code at instantiation: a worker instantiating over the
// shared memory rewrites the very same values, so readers on other threads never see a change.

const POLY: u32 = 0x82f63b78;
const TABLES: usize = memory.data(16 * 256 * 4, 64);

// Table k's address, passed as the loads' immediate offset (saves an add per lookup).
const T0 = TABLES, T1 = TABLES + 1024, T2 = TABLES + 2048, T3 = TABLES + 3072;
const T4 = TABLES + 4096, T5 = TABLES + 5120, T6 = TABLES + 6144, T7 = TABLES + 7168;
const T8 = TABLES + 8192, T9 = TABLES + 9216, T10 = TABLES + 10240, T11 = TABLES + 11264;
const T12 = TABLES + 12288, T13 = TABLES + 13312, T14 = TABLES + 14336, T15 = TABLES + 15360;

function fillTables(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = (c >>> 1) ^ (POLY & (0 - (c & 1)));
    store<u32>(TABLES + (<usize>i << 2), c);
  }
  for (let k: usize = 1; k < 16; k++) {
    for (let i: usize = 0; i < 256; i++) {
      const prev = load<u32>(TABLES + ((k - 1) << 10) + (i << 2));
      const next = (prev >>> 8) ^ load<u32>(TABLES + (<usize>(prev & 0xff) << 2));
      store<u32>(TABLES + (k << 10) + (i << 2), next);
    }
  }
}
fillTables();

/** CRC32C of [ptr, ptr+len), continuing from `crc` (0 to start), as in `crc32c(buf, initial)`. */
export function crc32c(ptr: usize, len: usize, crc: u32): u32 {
  let c = ~crc;
  let p = ptr;
  const end16 = ptr + (len & ~(<usize>15));
  while (p < end16) {
    // A balanced xor tree of 16 independent lookups (byte loads beyond the first word measured
    // faster than extracting bytes from wider loads).
    const w = c ^ load<u32>(p);
    // The first word carries the running CRC; its bytes come out of the shifts already
    // scaled to table offsets (byte * 4).
    const o0 = (w << 2) & 0x3fc;
    const o1 = (w >>> 6) & 0x3fc;
    const o2 = (w >>> 14) & 0x3fc;
    const o3 = (w >>> 22) & 0x3fc;
    const x0 = load<u32>(<usize>o0, T15) ^ load<u32>(<usize>o1, T14);
    const x1 = load<u32>(<usize>o2, T13) ^ load<u32>(<usize>o3, T12);
    const x2 = load<u32>(<usize>load<u8>(p, 4) << 2, T11) ^ load<u32>(<usize>load<u8>(p, 5) << 2, T10);
    const x3 = load<u32>(<usize>load<u8>(p, 6) << 2, T9) ^ load<u32>(<usize>load<u8>(p, 7) << 2, T8);
    const x4 = load<u32>(<usize>load<u8>(p, 8) << 2, T7) ^ load<u32>(<usize>load<u8>(p, 9) << 2, T6);
    const x5 = load<u32>(<usize>load<u8>(p, 10) << 2, T5) ^ load<u32>(<usize>load<u8>(p, 11) << 2, T4);
    const x6 = load<u32>(<usize>load<u8>(p, 12) << 2, T3) ^ load<u32>(<usize>load<u8>(p, 13) << 2, T2);
    const x7 = load<u32>(<usize>load<u8>(p, 14) << 2, T1) ^ load<u32>(<usize>load<u8>(p, 15) << 2, T0);
    c = ((x0 ^ x1) ^ (x2 ^ x3)) ^ ((x4 ^ x5) ^ (x6 ^ x7));
    p += 16;
  }
  const end = ptr + len;
  while (p < end) {
    c = load<u32>(<usize>((c ^ load<u8>(p)) & 0xff) << 2, T0) ^ (c >>> 8);
    p++;
  }
  return ~c;
}
