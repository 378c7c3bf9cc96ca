// Digests of an uploaded body: the MD5 that becomes the ETag (checked against Content-MD5), and
// the additional checksum the client announces — in a header, or as a trailer after an aws-chunked
// body — computed as the bytes pass and compared before anything becomes visible. The checksum
// sees the bytes as they arrive; the MD5 sees them as they are written (possibly on a worker).
import { announcedAlgorithm, checkChecksumValue, isChecksumAlgorithm, newDigest, type ChecksumAlgorithm, type Digest } from './checksums.js';
import { S3Error } from './errors.js';
import { inlineMd5, type Md5 } from './md5.js';
import { header, type S3Request } from './request.js';

export interface Digests {
  /** MD5 of the body, hex: the ETag of a single-part object or part. */
  md5: string;
  /** The raw MD5 (multipart ETags are built from these). */
  md5Raw: Buffer;
  size: number;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

export class Integrity {
  readonly #md5: Md5;
  readonly #contentMd5: string | null;
  readonly #algorithm: ChecksumAlgorithm | null;
  readonly #digest: Digest | null;
  /** Value declared in a header (null: none, or it comes as a trailer). */
  readonly #declared: string | null;
  readonly #trailer: string | null;
  #size = 0;

  constructor(req: S3Request, trailerName: string | null, md5: Md5 = inlineMd5(), required: ChecksumAlgorithm | null = null) {
    this.#md5 = md5;
    const contentMd5 = header(req, 'content-md5');
    if (contentMd5 !== undefined) {
      const raw = Buffer.from(contentMd5, 'base64');
      if (raw.length !== 16 || raw.toString('base64') !== contentMd5.trim()) throw new S3Error('InvalidDigest', `Content-MD5 "${contentMd5.slice(0, 60)}" is not the base64 of a 16-byte MD5.`);
    }
    this.#contentMd5 = contentMd5?.trim() ?? null;
    const inHeaders = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm' && h !== 'x-amz-checksum-type' && h !== 'x-amz-checksum-mode');
    if (inHeaders.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum types are not allowed.');
    let algorithm: ChecksumAlgorithm | null = null;
    let declared: string | null = null;
    if (inHeaders.length === 1) {
      const name = inHeaders[0].slice('x-amz-checksum-'.length);
      if (!isChecksumAlgorithm(name)) throw new S3Error('InvalidRequest', `Checksum algorithm "${name}" is not supported (crc32, crc32c, crc64nvme, sha1, sha256 are).`);
      algorithm = name;
      declared = checkChecksumValue(name, header(req, inHeaders[0]) ?? '');
    }
    if (trailerName !== null) {
      if (!trailerName.startsWith('x-amz-checksum-') || !isChecksumAlgorithm(trailerName.slice('x-amz-checksum-'.length))) {
        throw new S3Error('InvalidRequest', `The trailer "${trailerName}" is not a supported checksum (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256).`);
      }
      if (algorithm !== null) throw new S3Error('InvalidRequest', 'A checksum may come as a header or as a trailer, not both.');
      algorithm = trailerName.slice('x-amz-checksum-'.length) as ChecksumAlgorithm;
    }
    const announced = announcedAlgorithm(req.headers);
    if (announced !== null && algorithm !== null && announced !== algorithm) {
      throw new S3Error('InvalidRequest', `x-amz-checksum-algorithm says ${announced} but the checksum sent is ${algorithm}.`);
    }
    algorithm ??= announced ?? required;
    if (required !== null && algorithm !== required) {
      throw new S3Error('InvalidRequest', `This upload was created with checksum algorithm ${required.toUpperCase()}; the part carries ${algorithm?.toUpperCase() ?? 'none'}.`);
    }
    this.#algorithm = algorithm;
    this.#digest = algorithm ? newDigest(algorithm) : null;
    this.#declared = declared;
    this.#trailer = trailerName;
  }

  get algorithm(): ChecksumAlgorithm | null {
    return this.#algorithm;
  }

  /** Bytes as they arrive. */
  update(chunk: Buffer): void {
    this.#size += chunk.length;
    this.#digest?.update(chunk);
  }

  /** The same bytes again, in order, once written (they may move to the MD5 worker: the caller
   * must not touch them afterwards). */
  written(batch: Buffer[]): void {
    this.#md5.update(batch);
  }

  abandon(): void {
    this.#md5.abandon();
  }

  /** Compare with what the client declared (headers, or trailers once the body is read). */
  async finish(trailers: ReadonlyMap<string, string>): Promise<Digests> {
    const md5Raw = await this.#md5.digest();
    if (this.#contentMd5 !== null && md5Raw.toString('base64') !== this.#contentMd5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: this.#contentMd5, CalculatedDigest: md5Raw.toString('base64') });
    }
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    if (this.#algorithm && this.#digest) {
      const got = this.#digest.digest().toString('base64');
      let want = this.#declared;
      if (this.#trailer !== null) {
        const v = trailers.get(this.#trailer);
        if (v === undefined) throw new S3Error('InvalidRequest', `The trailing checksum ${this.#trailer} announced in x-amz-trailer never came.`);
        want = checkChecksumValue(this.#algorithm, v);
      }
      if (want !== null && want !== got) {
        throw new S3Error('BadDigest', `The ${this.#algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      }
      checksums[this.#algorithm] = got;
    }
    return { md5: md5Raw.toString('hex'), md5Raw, size: this.#size, checksums };
  }
}
