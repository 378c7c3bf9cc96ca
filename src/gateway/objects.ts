// Objects are files below a bucket's directory. This module finds them, reads them, puts staged
// files in place (making the directories a key implies) and deletes them (removing directories the
// deletion left empty, so prefixes disappear with their last object, as in S3).
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { isDir, isRegular } from '../vfs/attr.js';
import { O_RDONLY } from '../vfs/constants.js';
import type { Buckets } from './buckets.js';
import { S3Error, fromCoreError } from './errors.js';
import { keyPath, objectPath, type KeyPath } from './names.js';
import { describeObject, encodeRecord, RECORD_XATTR, type ObjectInfo, type ObjectRecord } from './record.js';
import type { TempFile } from './staging.js';
import type { GatewayVolume } from './volume.js';

export interface ObjectTarget {
  bucket: string;
  key: string;
  kp: KeyPath;
  /** Volume path (no trailing slash). */
  path: string;
}

export function objectTarget(bucket: string, key: string): ObjectTarget {
  const kp = keyPath(key);
  return { bucket, key, kp, path: objectPath(bucket, kp) };
}

export interface FoundObject {
  attr: Attr;
  info: ObjectInfo;
}

/** Largest single read from the volume while streaming an object out. */
const READ_PIECE = 4 * 1024 * 1024;
// Read buffers kept for reuse once the socket is done with them: a fresh 4 MiB buffer per piece
// cost more in page faults and GC than the copy into it (measured: ~30% of a 1 GiB GET's CPU).
const SPARE_PIECES = 8;
const PLACE_ATTEMPTS = 4;

/** Hands a streamed piece to the client; resolves once more may be sent (false: stop, the client
 * is gone). `release` must be called once the piece's bytes are no longer needed (after the socket
 * has written them): the buffer is then reused. Never calling it is safe, only slower. */
export type PieceSink = (piece: Buffer, release: () => void) => Promise<boolean>;

export class Objects {
  readonly #spare: Buffer[] = [];

  constructor(private readonly gv: GatewayVolume, private readonly buckets: Buckets) {}

  /** The object a key names; NoSuchKey when nothing (or a plain directory) is there. */
  async find(t: ObjectTarget): Promise<FoundObject> {
    const found = await this.lookup(t);
    if (!found) {
      await this.buckets.get(t.bucket);
      throw new S3Error('NoSuchKey', undefined, { Key: t.key });
    }
    return found;
  }

  /** Like find(), but null when there is no such object. */
  async lookup(t: ObjectTarget): Promise<FoundObject | null> {
    const attr = await this.gv.resolveIn(t.bucket, t.path).catch((err: unknown) => { throw fromCoreError(err); });
    if (!attr) return null;
    if (t.kp.directory) {
      // A "folder" key is the directory itself, an object only if the gateway recorded one.
      if (!isDir(attr)) return null;
      const record = await this.gv.record(attr.ino);
      if (!record) return null;
      return { attr, info: describeObject({ ino: attr.ino, size: 0, mtimeNs: attr.mtimeNs }, { ...record, size: 0, mtimeNs: String(attr.mtimeNs) }) };
    }
    if (!isRegular(attr)) return null;
    return { attr, info: describeObject(attr, await this.gv.record(attr.ino)) };
  }

  /** Stream [start, end) of an object into `sink`. The next piece is read while the sink sends
   * this one. */
  async read(ino: number, start: number, end: number, sink: PieceSink): Promise<void> {
    if (end <= start) return;
    const { vfs, caller } = this.gv.user;
    const { fh } = await vfs.open(caller, ino, O_RDONLY);
    const readAt = async (at: number): Promise<{ piece: Buffer; buf: Buffer }> => {
      const buf = this.#spare.pop() ?? Buffer.allocUnsafe(READ_PIECE);
      try {
        const piece = buf.subarray(0, Math.min(READ_PIECE, end - at));
        const n = await vfs.read(fh, at, piece);
        // The file shrank since it was looked at: what was promised can no longer be sent.
        if (n === 0) throw new Error(`object inode ${ino} ended at ${at}, before ${end}`);
        return { piece: n === piece.length ? piece : piece.subarray(0, n), buf };
      } catch (err) {
        this.#giveBack(buf);
        throw err;
      }
    };
    let next: Promise<{ piece: Buffer; buf: Buffer }> | null = readAt(start);
    try {
      for (let at = start; next;) {
        const { piece, buf } = await next;
        at += piece.length;
        next = at < end ? readAt(at) : null;
        // Failures of the read ahead surface when it is awaited, not as unhandled rejections.
        next?.catch(() => undefined);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.#giveBack(buf);
        };
        if (!(await sink(piece, release))) return;
      }
    } finally {
      const last = await next?.catch(() => undefined);
      if (last) this.#giveBack(last.buf);
      await vfs.release(fh).catch(() => undefined);
    }
  }

  #giveBack(buf: Buffer): void {
    if (this.#spare.length < SPARE_PIECES) this.#spare.push(buf);
  }

  /** Move a sealed temp file to where the key says, replacing any object there. `bucket` is the
   * bucket's directory when the caller already looked it up. */
  async place(temp: TempFile, t: ObjectTarget, bucket?: Attr): Promise<void> {
    const { vfs, caller } = this.gv.system;
    const name = t.kp.segments[t.kp.segments.length - 1];
    for (let attempt = 1; ; attempt++) {
      const parent = t.kp.segments.length === 1 ? bucket ?? await this.buckets.get(t.bucket) : await this.#makeParents(t);
      try {
        await vfs.rename(caller, temp.dir, temp.name, parent.ino, name);
        return;
      } catch (err) {
        const code = errorCode(err);
        if (code === 'EISDIR') throw new S3Error('ObjectExistsAsDirectory', `"${t.key}" names a directory holding other objects; it cannot also be an object.`, { Key: t.key });
        if (code === 'ENOTDIR') throw this.#parentIsObject(t);
        // A parent directory vanished (its last object was deleted meanwhile): make it again.
        if (code === 'ENOENT' && attempt < PLACE_ATTEMPTS) {
          bucket = undefined;
          continue;
        }
        if (code === 'ENOENT') await this.buckets.get(t.bucket);
        throw fromCoreError(err);
      }
    }
  }

  /** Create the object of a key that holds nothing yet, with its bytes and its record (whose
   * mtime is the file's own) in one metadata transaction. False when something is at the key. */
  async createWhole(t: ObjectTarget, body: Buffer, record: (timeNs: bigint) => ObjectRecord): Promise<boolean> {
    const { vfs, caller } = this.gv.system;
    const name = t.kp.segments[t.kp.segments.length - 1];
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    for (let attempt = 1; ; attempt++) {
      const parent = await this.#makeParents(t);
      try {
        const made = await vfs.createFile(caller, parent.ino, name, 0o644, body, false, { timeNs, xattrs: { [RECORD_XATTR]: encodeRecord(record(timeNs)) } });
        return made !== null;
      } catch (err) {
        const code = errorCode(err);
        if (code === 'ENOTDIR') throw this.#parentIsObject(t);
        // A parent directory vanished (its last object was deleted meanwhile): make it again.
        if (code === 'ENOENT' && attempt < PLACE_ATTEMPTS) continue;
        throw fromCoreError(err);
      }
    }
  }

  /** A "folder" object: the directory, made if needed, carrying the record. */
  async placeDirectory(t: ObjectTarget, record: ObjectRecord): Promise<Attr> {
    const sys = this.gv.system;
    await this.#makeParents(t);
    await sys.vol.mkdir(t.path, { mode: 0o755 }).catch((err: unknown) => {
      const code = errorCode(err);
      if (code === 'ENOTDIR') throw this.#parentIsObject(t);
      if (code !== 'EEXIST') throw fromCoreError(err);
    });
    const attr = await this.gv.resolve(t.path, sys);
    if (!attr || !isDir(attr)) throw new S3Error('ParentIsObject', `"${t.key.slice(0, -1)}" is an object; "${t.key}" cannot also be a folder.`, { Key: t.key });
    await sys.vfs.setxattr(sys.caller, attr.ino, RECORD_XATTR, encodeRecord(record));
    return attr;
  }

  #parentIsObject(t: ObjectTarget): S3Error {
    return new S3Error('ParentIsObject', `A prefix of "${t.key}" is an object, which cannot also be a directory.`, { Key: t.key });
  }

  /** The directory a key's object goes in, made (with its parents) when missing. */
  async #makeParents(t: ObjectTarget): Promise<Attr> {
    const dirs = t.kp.segments.slice(0, -1);
    if (dirs.length === 0) return this.buckets.get(t.bucket);
    const parent = `/${t.bucket}/${dirs.join('/')}`;
    const existing = await this.gv.resolve(parent, this.gv.system);
    if (existing && isDir(existing)) return existing;
    if (existing) throw this.#parentIsObject(t);
    await this.buckets.get(t.bucket);
    await this.gv.system.vol.mkdir(parent, { recursive: true, mode: 0o755 }).catch((err: unknown) => {
      const code = errorCode(err);
      if (code === 'ENOTDIR' || code === 'EEXIST') throw this.#parentIsObject(t);
      throw fromCoreError(err);
    });
    const made = await this.gv.resolve(parent, this.gv.system);
    if (!made || !isDir(made)) throw this.#parentIsObject(t);
    return made;
  }

  /** Replace the record of an existing object (tags, or metadata of a copy onto itself). */
  async rewriteRecord(found: FoundObject, record: ObjectRecord): Promise<void> {
    const sys = this.gv.system;
    await sys.vfs.setxattr(sys.caller, found.attr.ino, RECORD_XATTR, encodeRecord(record)).catch((err: unknown) => { throw fromCoreError(err); });
  }

  /** Delete what a key names; a key with nothing there is already deleted (S3 answers 204). */
  async delete(t: ObjectTarget): Promise<boolean> {
    const user = this.gv.user.vol;
    let deleted = false;
    try {
      if (t.kp.directory) {
        const found = await this.lookup(t);
        if (!found) return false;
        await this.gv.system.vol.removexattr(t.path, RECORD_XATTR).catch(() => undefined);
        await user.rmdir(t.path).catch(() => undefined);
      } else {
        await user.unlink(t.path);
      }
      deleted = true;
    } catch (err) {
      const code = errorCode(err);
      // Nothing there, a directory (not an object), or a path through a file: nothing to delete.
      if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'ENOTDIR' && code !== 'EPERM') throw fromCoreError(err);
    }
    if (deleted) await this.#pruneParents(t);
    return deleted;
  }

  /** Remove the directories above a deleted key that it left empty (never a folder object). */
  async #pruneParents(t: ObjectTarget): Promise<void> {
    const sys = this.gv.system;
    for (let depth = t.kp.segments.length - 1; depth >= 1; depth--) {
      const dir = `/${t.bucket}/${t.kp.segments.slice(0, depth).join('/')}`;
      const attr = await this.gv.resolve(dir, sys);
      if (!attr || !isDir(attr) || (await this.gv.record(attr.ino, sys))) return;
      try {
        await sys.vol.rmdir(dir);
      } catch {
        return;
      }
    }
  }
}

