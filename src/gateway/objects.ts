// Objects are files below a bucket's directory. This module finds them, reads them, puts staged
// files in place (making the directories a key implies) and deletes them (removing directories the
// deletion left empty, so prefixes disappear with their last object, as in S3).
import type { QueuedEvent } from '../meta/meta.js';
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { isDir, isRegular, isSymlink } from '../vfs/attr.js';
import { O_RDONLY } from '../vfs/constants.js';
import type { Buckets } from './buckets.js';
import { S3Error, fromCoreError } from './errors.js';
import { bucketNameProblem, keyPath, objectPath, type KeyPath } from './names.js';
import { describeObject, encodeRecord, RECORD_XATTR, type ObjectInfo, type ObjectRecord } from './record.js';
import type { TempFile } from './staging.js';
import type { GatewayVolume, VolumeSide } from './volume.js';

export interface ObjectTarget {
  bucket: string;
  key: string;
  kp: KeyPath;
  /** Volume path (no trailing slash). */
  path: string;
}

export function objectTarget(bucket: string, key: string): ObjectTarget {
  // Only a bucket's directory holds objects: never the trash or the gateway's own directory.
  if (bucketNameProblem(bucket) !== null) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket.slice(0, 255) });
  const kp = keyPath(key);
  return { bucket, key, kp, path: objectPath(bucket, kp) };
}

export interface FoundObject {
  attr: Attr;
  info: ObjectInfo;
}

const PLACE_ATTEMPTS = 4;

/** Hands a streamed piece to the client; resolves once more may be sent (false: stop, the client
 * is gone). `release` must be called once the piece's bytes are no longer needed (the socket has
 * written them, or the response is gone): until then the block it views is held in memory. */
export type PieceSink = (piece: Buffer, release: () => void) => Promise<boolean>;

/** A piece of an object and how to let go of the memory it is a view of. */
interface HeldPiece {
  piece: Buffer;
  release: () => void;
}

/** `f`, callable any number of times, acting only the first. */
function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

export class Objects {
  #pinned = 0;
  /** `pinnedMax`: bytes of block memory all GETs together may keep pinned (ConnectionLimits). */
  constructor(private readonly gv: GatewayVolume, private readonly buckets: Buckets, private readonly pinnedMax: number) {}

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

  /** Stream [start, end) of an object into `sink`: block by block, each piece a view of the
   * verified block in memory (pinned until the sink releases it), so the bytes go from the block
   * to the socket with no copy of ours. The next piece is read while the sink sends this one. */
  async read(ino: number, start: number, end: number, sink: PieceSink): Promise<void> {
    if (end <= start) return;
    const { vfs, caller } = this.gv.user;
    const { fh } = await vfs.open(caller, ino, O_RDONLY);
    // A piece is what one block holds of the object: pieces end where the blocks of its slices
    // do, wherever the slices lie in the file.
    const { blockSize } = vfs.store;
    const readAt = (at: number): Promise<HeldPiece> => new Promise<HeldPiece>((resolve, reject) => {
      vfs.readView(fh, at, Math.min(end - at, blockSize), (bytes) => {
        // The file shrank since it was looked at: what was promised can no longer be sent.
        if (bytes.length === 0) throw new Error(`object inode ${ino} ended at ${at}, before ${end}`);
        const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (this.#pinned + view.length > this.pinnedMax) {
          // Slow clients hold enough block memory already: this one gets a copy and the block
          // goes back at once.
          resolve({ piece: Buffer.from(view), release: () => undefined });
          return;
        }
        this.#pinned += view.length;
        return new Promise<void>((unpin) => resolve({
          piece: view,
          release: once(() => {
            this.#pinned -= view.length;
            unpin();
          }),
        }));
      }, true).catch(reject);
    });
    let next: Promise<HeldPiece> | null = readAt(start);
    try {
      for (let at = start; next;) {
        const { piece, release } = await next;
        at += piece.length;
        next = at < end ? readAt(at) : null;
        // Failures of the read ahead surface when it is awaited, not as unhandled rejections.
        next?.catch(() => undefined);
        if (!(await sink(piece, release))) return;
      }
    } finally {
      const last = await next?.catch(() => undefined);
      last?.release();
      await vfs.release(fh).catch(() => undefined);
    }
  }

  /** Move a sealed temp file to where the key says, replacing any object there. `bucket` is the
   * bucket's directory when the caller already looked it up. */
  async place(temp: TempFile, t: ObjectTarget, bucket?: Attr, events?: readonly QueuedEvent[]): Promise<void> {
    const { vfs, caller } = this.gv.system;
    const name = t.kp.segments[t.kp.segments.length - 1];
    for (let attempt = 1; ; attempt++) {
      const parent = t.kp.segments.length === 1 ? bucket ?? await this.buckets.get(t.bucket) : await this.#makeParents(t, bucket);
      try {
        await vfs.rename(caller, temp.dir, temp.name, parent.ino, name, 0, events);
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
  async createWhole(t: ObjectTarget, body: Buffer, record: (timeNs: bigint) => ObjectRecord, events?: readonly QueuedEvent[]): Promise<boolean> {
    const { vfs, caller } = this.gv.system;
    const name = t.kp.segments[t.kp.segments.length - 1];
    const timeNs = BigInt(Date.now()) * 1_000_000n;
    for (let attempt = 1; ; attempt++) {
      const parent = await this.#makeParents(t);
      try {
        const made = await vfs.createFile(caller, parent.ino, name, 0o644, body, false, { timeNs, xattrs: { [RECORD_XATTR]: encodeRecord(record(timeNs)) }, ...(events ? { events } : {}) });
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
  async placeDirectory(t: ObjectTarget, record: ObjectRecord, events?: readonly QueuedEvent[]): Promise<Attr> {
    const sys = this.gv.system;
    const dirs = await this.#walk(sys, t, t.kp.segments, true);
    const attr = dirs[dirs.length - 1]!;
    await sys.vfs.setxattr(sys.caller, attr.ino, RECORD_XATTR, encodeRecord(record), 0, events);
    return attr;
  }

  #parentIsObject(t: ObjectTarget): S3Error {
    return new S3Error('ParentIsObject', `A prefix of "${t.key}" is an object, which cannot also be a directory.`, { Key: t.key });
  }

  /** The directory a key's object goes in, made (with its parents) when missing. */
  async #makeParents(t: ObjectTarget, bucket?: Attr): Promise<Attr> {
    const dirs = await this.#walk(this.gv.system, t, t.kp.segments.slice(0, -1), true, bucket);
    return dirs[dirs.length - 1]!;
  }

  /**
   * The bucket's directory and the directories `names` lead to below it, walked one entry at a
   * time by inode: never through a symbolic link, so a write or a deletion cannot leave its bucket
   * (reads may follow a link that stays inside the bucket: see lookup). With `make`, missing
   * directories are made; without, the walk stops short where one is missing.
   */
  async #walk(side: VolumeSide, t: ObjectTarget, names: readonly string[], make: boolean, bucket?: Attr): Promise<Attr[]> {
    for (let attempt = 1; ; attempt++) {
      const dirs = [bucket ?? await this.buckets.get(t.bucket)];
      try {
        // What exists of the way, in one read: entries as they are named (a link is not followed).
        const found = names.length === 0 ? [] : (await side.vfs.lookupPath(dirs[0]!.ino, [...names])).slice(1);
        for (const [i, name] of names.entries()) {
          const dir = dirs[dirs.length - 1]!;
          let next: Attr | null = found[i] ?? null;
          if (next === null && make) {
            next = await this.gv.system.vfs.mkdir(this.gv.system.caller, dir.ino, name, 0o755).catch(async (err: unknown) => {
              // Made meanwhile by another request: use it.
              if (errorCode(err) === 'EEXIST') return this.#entry(side, dir, name);
              throw err;
            });
          }
          if (next === null) return dirs;
          if (isSymlink(next)) {
            throw new S3Error('AccessDenied', `"${t.key}" leads through a symbolic link in the bucket; the gateway writes and deletes only through real directories.`, { Key: t.key });
          }
          if (!isDir(next)) throw this.#parentIsObject(t);
          dirs.push(next);
        }
        return dirs;
      } catch (err) {
        // A directory on the way vanished (its last object was deleted meanwhile): walk again.
        if (errorCode(err) === 'ENOENT' && attempt < PLACE_ATTEMPTS) {
          bucket = undefined;
          continue;
        }
        if (err instanceof S3Error) throw err;
        if (errorCode(err) === 'ENOTDIR') throw this.#parentIsObject(t);
        throw fromCoreError(err);
      }
    }
  }

  /** What `name` in `dir` is (not followed), or null. */
  async #entry(side: VolumeSide, dir: Attr, name: string): Promise<Attr | null> {
    return side.vfs.lookupIn(dir, name).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return null;
      throw err;
    });
  }

  /** Replace the record of an existing object (tags, or metadata of a copy onto itself). */
  async rewriteRecord(found: FoundObject, record: ObjectRecord, events?: readonly QueuedEvent[]): Promise<void> {
    const sys = this.gv.system;
    await sys.vfs.setxattr(sys.caller, found.attr.ino, RECORD_XATTR, encodeRecord(record), 0, events).catch((err: unknown) => { throw fromCoreError(err); });
  }

  /** Delete what a key names; a key with nothing there is already deleted (S3 answers 204). */
  async delete(t: ObjectTarget, events?: readonly QueuedEvent[]): Promise<boolean> {
    const user = this.gv.user;
    const name = t.kp.segments[t.kp.segments.length - 1]!;
    const dirs = await this.#walk(user, t, t.kp.segments.slice(0, -1), false);
    // A directory on the way is missing: nothing there.
    if (dirs.length < t.kp.segments.length) return false;
    const parent = dirs[dirs.length - 1]!;
    let deleted = false;
    try {
      if (t.kp.directory) {
        const dir = await this.#entry(user, parent, name);
        if (!dir || !isDir(dir) || !(await this.gv.record(dir.ino))) return false;
        try {
          await this.gv.system.vfs.removexattr(this.gv.system.caller, dir.ino, RECORD_XATTR, events);
        } catch (err) {
          // Deleted by another request meanwhile.
          if (errorCode(err) === 'ENODATA') return false;
          throw err;
        }
        await user.vfs.rmdir(user.caller, parent.ino, name).catch(() => undefined);
      } else {
        // The entry itself goes, whatever it is (a symbolic link is not followed).
        await user.vfs.unlink(user.caller, parent.ino, name, undefined, events);
      }
      deleted = true;
    } catch (err) {
      const code = errorCode(err);
      // Nothing there, a directory (not an object), or a path through a file: nothing to delete.
      if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'ENOTDIR' && code !== 'EPERM') throw fromCoreError(err);
    }
    if (deleted) await this.#pruneParents(t, dirs);
    return deleted;
  }

  /** Remove the directories above a deleted key that it left empty (never a folder object):
   * `dirs` are the bucket and those directories, as the deletion walked them. */
  async #pruneParents(t: ObjectTarget, dirs: Attr[]): Promise<void> {
    const sys = this.gv.system;
    for (let depth = dirs.length - 1; depth >= 1; depth--) {
      if (await this.gv.record(dirs[depth]!.ino, sys)) return;
      try {
        await sys.vfs.rmdir(sys.caller, dirs[depth - 1]!.ino, t.kp.segments[depth - 1]!);
      } catch {
        return;
      }
    }
  }
}

