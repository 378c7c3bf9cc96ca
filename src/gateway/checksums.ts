// The additional checksums S3 clients send (x-amz-checksum-ALGORITHM, base64 of the digest):
// computed over the bytes as they stream in and compared before an object becomes visible.
// CRC32C goes through the hot path; CRC32 through zlib; SHA-1/SHA-256 through node:crypto.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { crc32c } from '../hotpath/index.js';
import { Crc64Nvme } from './crc64.js';
import { S3Error } from './errors.js';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Digest length in bytes of each algorithm. */
const SIZES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

export interface Digest {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

class Crc32Digest implements Digest {
  constructor(private readonly fn: (data: Uint8Array, initial: number) => number, private value = 0) {}
  update(data: Uint8Array): void {
    this.value = this.fn(data, this.value);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value >>> 0);
    return out;
  }
}

class HashDigest implements Digest {
  readonly #hash: Hash;
  constructor(name: string) {
    this.#hash = createHash(name);
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Buffer {
    return this.#hash.digest();
  }
}

export function newDigest(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case 'crc32': return new Crc32Digest((d, i) => crc32(d, i));
    case 'crc32c': return new Crc32Digest((d, i) => crc32c(d, i));
    case 'crc64nvme': return new Crc64Nvme();
    case 'sha1': return new HashDigest('sha1');
    case 'sha256': return new HashDigest('sha256');
  }
}

export function isChecksumAlgorithm(s: string): s is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(s);
}

/** A checksum value as a client sends it (base64 of the digest); InvalidDigest when it cannot be. */
export function checkChecksumValue(algorithm: ChecksumAlgorithm, value: string): string {
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== SIZES[algorithm] || raw.toString('base64') !== value) {
    throw new S3Error('InvalidDigest', `x-amz-checksum-${algorithm} "${value.slice(0, 80)}" is not the base64 of a ${SIZES[algorithm]}-byte ${algorithm.toUpperCase()}.`);
  }
  return value;
}

/** The checksum algorithm a request announces: x-amz-checksum-algorithm / x-amz-sdk-checksum-algorithm,
 * or the trailer it declares, or the one checksum header it carries. */
export function announcedAlgorithm(headers: Record<string, string | string[] | undefined>): ChecksumAlgorithm | null {
  const named = headers['x-amz-checksum-algorithm'] ?? headers['x-amz-sdk-checksum-algorithm'];
  if (typeof named === 'string' && named !== '') {
    const a = named.toLowerCase();
    if (!isChecksumAlgorithm(a)) throw new S3Error('InvalidRequest', `Checksum algorithm "${named}" is not supported (CRC32, CRC32C, CRC64NVME, SHA1, SHA256 are).`);
    return a;
  }
  return null;
}
