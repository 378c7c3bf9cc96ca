// Multipart uploads, staged inside the volume: each upload is a directory under the gateway's
// reserved (root-only) directory, holding the upload's record and one file per part. Completion
// joins the parts' slices into one file in a single metadata transaction (no byte is copied),
// then moves it to the key; abandoned uploads are swept after a configurable age.
import type { QueuedEvent } from '../meta/meta.js';
import { createHash } from 'node:crypto';
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { isDir, isRegular } from '../vfs/attr.js';
import type { Buckets } from './buckets.js';
import { newDigest, type ChecksumAlgorithm } from './checksums.js';
import { combineCrc, isCrc } from './crc-combine.js';
import { S3Error, fromCoreError } from './errors.js';
import type { Objects, ObjectTarget } from './objects.js';
import { decodeRecord, RECORD_XATTR, runsOf, type ObjectRecord } from './record.js';
import { randomName, UPLOADS_DIR, type Staging, type TempFile } from './staging.js';
import type { Acl, Owner } from './acl/model.js';
import type { TagSet } from './tags.js';
import type { GatewayVolume } from './volume.js';

export const UPLOAD_XATTR = 'user.s3.upload';
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;

export interface UploadRecord {
  bucket: string;
  key: string;
  initiatedMs: number;
  headers: Record<string, string>;
  meta: Record<string, string>;
  tags?: TagSet;
  /** The ACL the completed object gets. */
  acl?: Acl;
  /** Who started the upload. */
  initiator?: Owner;
  checksumAlgorithm?: ChecksumAlgorithm;
  /** COMPOSITE (checksum of the parts' checksums) or FULL_OBJECT. */
  checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
}

export interface Upload {
  id: string;
  ino: number;
  record: UploadRecord;
}

export interface PartInfo {
  number: number;
  ino: number;
  size: number;
  etag: string;
  mtimeNs: bigint;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** A part the client lists in CompleteMultipartUpload. */
export interface RequestedPart {
  number: number;
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

const UPLOAD_ID = /^[0-9a-z]{1,12}-[A-Za-z0-9_-]{12}$/;

function partName(n: number): string {
  return String(n).padStart(5, '0');
}

function noSuchUpload(id: string): S3Error {
  return new S3Error('NoSuchUpload', undefined, { UploadId: id.slice(0, 200) });
}

/** The ETag S3 gives an object made of parts with these ETags (hex MD5s): the MD5 of their
 * MD5s, then "-" and how many there were. */
export function multipartEtag(partEtags: readonly string[]): string {
  return `${createHash('md5').update(Buffer.concat(partEtags.map((e) => Buffer.from(e, 'hex')))).digest('hex')}-${partEtags.length}`;
}

export class Uploads {
  constructor(private readonly gv: GatewayVolume, private readonly staging: Staging, private readonly objects: Objects, private readonly buckets: Buckets) {}

  #dir(id: string): string {
    return `${UPLOADS_DIR}/${id}`;
  }

  async create(t: ObjectTarget, record: Omit<UploadRecord, 'bucket' | 'key' | 'initiatedMs'>): Promise<string> {
    await this.buckets.get(t.bucket);
    const sys = this.gv.system;
    const id = randomName();
    const full: UploadRecord = { ...record, bucket: t.bucket, key: t.key, initiatedMs: Date.now() };
    const make = () => sys.vol.mkdir(this.#dir(id), { mode: 0o700 });
    await make().catch(async (err: unknown) => {
      if (errorCode(err) !== 'ENOENT') throw err;
      await this.staging.ensure();
      await make();
    });
    try {
      await sys.vol.setxattr(this.#dir(id), UPLOAD_XATTR, JSON.stringify(full));
    } catch (err) {
      await sys.vol.rmdir(this.#dir(id)).catch(() => undefined);
      throw fromCoreError(err);
    }
    return id;
  }

  /** The upload `id`; NoSuchUpload when there is none, or it is for another bucket or key. */
  async get(id: string, t?: { bucket: string; key: string }): Promise<Upload> {
    if (!UPLOAD_ID.test(id)) throw noSuchUpload(id);
    const sys = this.gv.system;
    const attr = await this.gv.resolve(this.#dir(id), sys);
    if (!attr || !isDir(attr)) throw noSuchUpload(id);
    const record = await this.#record(attr.ino);
    if (!record || (t && (record.bucket !== t.bucket || record.key !== t.key))) throw noSuchUpload(id);
    return { id, ino: attr.ino, record };
  }

  async #record(ino: number): Promise<UploadRecord | null> {
    const sys = this.gv.system;
    try {
      const raw = await sys.vfs.getxattr(sys.caller, ino, UPLOAD_XATTR);
      const r = JSON.parse(Buffer.from(raw).toString('utf8')) as UploadRecord;
      return typeof r.bucket === 'string' && typeof r.key === 'string' ? r : null;
    } catch {
      return null;
    }
  }

  /** Make a sealed temp file part `n` of the upload (replacing an earlier upload of that part). */
  async putPart(upload: Upload, n: number, temp: TempFile): Promise<void> {
    const sys = this.gv.system.vol;
    const path = `${this.#dir(upload.id)}/${partName(n)}`;
    // Removed first through the staging client: a replaced part must not linger in the trash.
    await sys.unlink(path).catch(() => undefined);
    try {
      await sys.rename(temp.path, path);
    } catch (err) {
      // Aborted meanwhile.
      if (errorCode(err) === 'ENOENT') throw noSuchUpload(upload.id);
      throw fromCoreError(err);
    }
  }

  /** The parts uploaded so far, by number. */
  async parts(upload: Upload): Promise<PartInfo[]> {
    const { vfs, caller } = this.gv.system;
    const out: PartInfo[] = [];
    for (let cookie = 0; ;) {
      const page = await vfs.readdir(caller, upload.ino, cookie, 1024).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') throw noSuchUpload(upload.id);
        throw fromCoreError(err);
      });
      if (page.length === 0) break;
      cookie = page[page.length - 1].cookie;
      for (const e of page) {
        if (!/^\d{5}$/.test(e.name) || !isRegular(e)) continue;
        const part = await this.#part(Number(e.name), e.ino);
        if (part) out.push(part);
      }
      if (page.length < 1024) break;
    }
    return out.sort((a, b) => a.number - b.number);
  }

  async #part(number: number, ino: number): Promise<PartInfo | null> {
    const { vfs, caller } = this.gv.system;
    try {
      const attr = await vfs.getattr(ino);
      const record = decodeRecord(await vfs.getxattr(caller, ino, RECORD_XATTR));
      if (!record) return null;
      return { number, ino, size: attr.size, etag: record.etag, mtimeNs: attr.mtimeNs, checksums: record.checksums ?? {} };
    } catch {
      return null;
    }
  }

  /** Check the client's part list against what was uploaded; the parts to join, in order. */
  validate(uploaded: PartInfo[], requested: RequestedPart[]): PartInfo[] {
    if (requested.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload lists no parts.');
    const byNumber = new Map(uploaded.map((p) => [p.number, p]));
    const chosen: PartInfo[] = [];
    let previous = 0;
    for (const r of requested) {
      if (r.number <= previous) throw new S3Error('InvalidPartOrder', undefined, { PartNumber: String(r.number) });
      previous = r.number;
      const p = byNumber.get(r.number);
      if (!p || p.etag !== r.etag) throw new S3Error('InvalidPart', undefined, { PartNumber: String(r.number), ETag: r.etag });
      for (const [alg, value] of Object.entries(r.checksums)) {
        if (p.checksums[alg as ChecksumAlgorithm] !== value) {
          throw new S3Error('InvalidPart', `The ${alg.toUpperCase()} given for part ${r.number} does not match the part's.`, { PartNumber: String(r.number) });
        }
      }
      chosen.push(p);
    }
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < MIN_PART_SIZE) {
        throw new S3Error('EntityTooSmall', `Part ${p.number} is ${p.size} bytes; every part but the last must be at least ${MIN_PART_SIZE}.`, {
          ProposedSize: String(p.size), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(p.number), ETag: p.etag,
        });
      }
    });
    return chosen;
  }

  /** Join the parts (sharing their slices) into a new object at the upload's key. */
  /** `stated`: the whole object's checksum as the client gave it with the request, if it did. */
  /** `events`: the notifications of the new object, committed with it. */
  async complete(upload: Upload, t: ObjectTarget, requested: RequestedPart[], stated?: string,
    events?: (done: { etag: string; size: number }) => Promise<readonly QueuedEvent[]>): Promise<{ etag: string; size: number; checksums: Partial<Record<ChecksumAlgorithm, string>> }> {
    const parts = this.validate(await this.parts(upload), requested);
    const etag = multipartEtag(parts.map((p) => p.etag));
    const checksums = uploadChecksums(upload.record, parts);
    const alg = upload.record.checksumAlgorithm;
    if (stated !== undefined && alg && checksums[alg] !== undefined && stated.trim() !== checksums[alg]) {
      throw new S3Error('BadDigest', `The ${alg.toUpperCase()} you specified for the whole object did not match the one its parts make.`);
    }
    const sys = this.gv.system;
    const temp = await this.staging.createTemp();
    try {
      let offset = 0;
      const ranges = parts.map((p) => {
        const r = { src: p.ino, srcOffset: 0, dstOffset: offset, length: p.size };
        offset += p.size;
        return r;
      });
      await sys.vfs.cloneRanges(sys.caller, temp.ino, ranges);
      const r = upload.record;
      const attr = await temp.seal((a: Attr): ObjectRecord => ({
        etag, size: a.size, mtimeNs: String(a.mtimeNs), headers: r.headers, meta: r.meta, checksums, checksumType: r.checksumType, parts: parts.length, tags: r.tags, ...(r.acl ? { acl: r.acl } : {}), upload: upload.id, partSizes: runsOf(parts.map((p) => p.size)),
      }));
      // The upload may have been completed or aborted by another request meanwhile.
      await this.get(upload.id, t);
      await this.objects.place(temp, t, undefined, await events?.({ etag, size: attr.size }));
      await this.remove(upload.id);
      return { etag, size: attr.size, checksums };
    } catch (err) {
      await temp.discard();
      throw fromCoreError(err);
    }
  }

  /** Remove an upload and its parts (their data goes unless a completed object shares it). */
  async remove(id: string): Promise<void> {
    const sys = this.gv.system.vol;
    const dir = this.#dir(id);
    const names = await sys.readdir(dir).catch(() => [] as string[]);
    for (const name of names) await sys.unlink(`${dir}/${name}`).catch(() => undefined);
    await sys.rmdir(dir).catch(() => undefined);
  }

  async abort(upload: Upload): Promise<void> {
    await this.remove(upload.id);
  }

  /** Every upload in progress (optionally only those into `bucket`). */
  async list(bucket?: string): Promise<Upload[]> {
    const { vfs, caller } = this.gv.system;
    const root = await this.gv.resolve(UPLOADS_DIR, this.gv.system);
    if (!root) return [];
    const out: Upload[] = [];
    for (let cookie = 0; ;) {
      const page = await vfs.readdir(caller, root.ino, cookie, 1024);
      if (page.length === 0) break;
      cookie = page[page.length - 1].cookie;
      for (const e of page) {
        if (!UPLOAD_ID.test(e.name) || !isDir(e)) continue;
        const record = await this.#record(e.ino);
        if (record && (bucket === undefined || record.bucket === bucket)) out.push({ id: e.name, ino: e.ino, record });
      }
      if (page.length < 1024) break;
    }
    return out;
  }

  async abortAllIn(bucket: string): Promise<void> {
    for (const u of await this.list(bucket)) await this.remove(u.id);
  }

  /** Remove uploads started more than `maxAgeMs` ago (and staging directories without a record). */
  async sweep(maxAgeMs: number): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    for (const u of await this.list()) {
      if (u.record.initiatedMs < cutoff) {
        await this.remove(u.id);
        removed++;
      }
    }
    return removed;
  }
}

/** Checksum of the whole upload from its parts', never rereading the data. COMPOSITE: the
 * digest of their concatenated digests, "-N". FULL_OBJECT: the CRC of the whole object, joined
 * from the parts' CRCs and sizes. Given only when every part has one of the upload's algorithm. */
function uploadChecksums(record: UploadRecord, parts: PartInfo[]): Partial<Record<ChecksumAlgorithm, string>> {
  const alg = record.checksumAlgorithm;
  if (!alg) return {};
  const raws = parts.map((p) => p.checksums[alg]);
  if (raws.some((v) => v === undefined)) return {};
  const digests = raws.map((v) => Buffer.from(v as string, 'base64'));
  if (record.checksumType === 'FULL_OBJECT' && isCrc(alg)) {
    const whole = digests.slice(1).reduce<Buffer>((acc, d, i) => combineCrc(alg, acc, d, parts[i + 1]!.size), digests[0]!);
    return { [alg]: whole.toString('base64') };
  }
  const d = newDigest(alg);
  for (const v of digests) d.update(v);
  return { [alg]: `${d.digest().toString('base64')}-${parts.length}` };
}
