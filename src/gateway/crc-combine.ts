// The CRC of two byte strings joined, from the CRC of each and the length of the second — what a
// FULL_OBJECT checksum of a multipart upload is made of (S3 computes it from the parts' CRCs,
// never rereading the data). Polynomial arithmetic over GF(2) in the reflected form these CRCs
// use (as zlib's crc32_combine does); BigInt, since it runs once per part.
import type { ChecksumAlgorithm } from './checksums.js';

export type CrcAlgorithm = Extract<ChecksumAlgorithm, 'crc32' | 'crc32c' | 'crc64nvme'>;

const SPECS: Record<CrcAlgorithm, { width: bigint; poly: bigint }> = {
  crc32: { width: 32n, poly: 0xedb88320n },
  crc32c: { width: 32n, poly: 0x82f63b78n },
  crc64nvme: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
};

export function isCrc(alg: ChecksumAlgorithm): alg is CrcAlgorithm {
  return alg in SPECS;
}

/** a(x)·b(x) mod p(x), both reflected (the top bit is x^0). */
function multiply(a: bigint, b: bigint, width: bigint, poly: bigint): bigint {
  let m = 1n << (width - 1n);
  let product = 0n;
  while (m !== 0n) {
    if (a & m) product ^= b;
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
  return product;
}

/** x^(8·bytes) mod p(x): what appending `bytes` zero bytes does to a CRC's register. */
function shiftBy(bytes: number, width: bigint, poly: bigint): bigint {
  let result = 1n << (width - 1n);
  let square = result >> 1n;
  for (let n = BigInt(bytes) * 8n; n > 0n; n >>= 1n) {
    if (n & 1n) result = multiply(square, result, width, poly);
    square = multiply(square, square, width, poly);
  }
  return result;
}

/** CRC(A ‖ B) from CRC(A), CRC(B) and B's length; CRCs as the big-endian bytes S3 carries. */
export function combineCrc(alg: CrcAlgorithm, crcA: Buffer, crcB: Buffer, lengthB: number): Buffer {
  const { width, poly } = SPECS[alg];
  const a = BigInt(`0x${crcA.toString('hex')}`);
  const b = BigInt(`0x${crcB.toString('hex')}`);
  const joined = multiply(shiftBy(lengthB, width, poly), a, width, poly) ^ b;
  return Buffer.from(joined.toString(16).padStart(Number(width) / 4, '0'), 'hex');
}
