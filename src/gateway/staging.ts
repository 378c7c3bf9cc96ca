// Where bytes land before they are an object: temp files in the gateway's reserved directory,
// written through the staging client, renamed into place only when complete and verified. A
// failed or abandoned upload leaves nothing under any bucket; its temp file is removed at once
// (or by the sweep after a crash).
import { randomBytes } from 'node:crypto';
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { O_CREAT, O_EXCL, O_WRONLY } from '../vfs/constants.js';
import { SYSTEM_DIR } from './names.js';
import { encodeRecord, RECORD_XATTR, type ObjectRecord } from './record.js';
import type { GatewayVolume, VolumeSide } from './volume.js';

export const TMP_DIR = `/${SYSTEM_DIR}/tmp`;
export const UPLOADS_DIR = `/${SYSTEM_DIR}/uploads`;

/** Writes are gathered to this size before going to the vfs (fewer, larger slices). */
const WRITE_BATCH = 1024 * 1024;

export function randomName(): string {
  return `${Date.now().toString(36)}-${randomBytes(9).toString('base64url')}`;
}

/** An open temp file of the staging client; always ends in place() elsewhere or discard(). */
export class TempFile {
  #fh: number | null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Where pending chunks are gathered into one write: reused, because a fresh buffer per batch
   * cost page faults and GC worth a third of a large upload's CPU. */
  #batch: Buffer | null = null;
  #offset = 0;
  /** Told of the appended chunks once written, in order (the ETag's MD5 is computed from them);
   * they are not touched here afterwards. */
  onWritten: ((chunks: Buffer[]) => void) | null = null;

  constructor(private readonly side: VolumeSide, readonly dir: number, readonly name: string, readonly ino: number, fh: number) {
    this.#fh = fh;
  }

  get path(): string {
    return `${TMP_DIR}/${this.name}`;
  }

  #handle(): number {
    if (this.#fh === null) throw new Error(`temp file ${this.path} is closed`);
    return this.#fh;
  }

  /** Append bytes (buffered into larger writes). */
  async append(data: Buffer): Promise<void> {
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes >= WRITE_BATCH) await this.#flushPending();
  }

  async #flushPending(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const chunks = this.#pending;
    const length = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    let data = chunks[0];
    if (chunks.length > 1) {
      if (!this.#batch || this.#batch.length < length) this.#batch = Buffer.allocUnsafe(Math.max(length, WRITE_BATCH * 2));
      data = this.#batch.subarray(0, length);
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
    }
    const at = this.#offset;
    this.#offset += length;
    // The volume has copied the bytes once this returns: the batch buffer may be refilled.
    await this.side.vfs.write(this.#handle(), at, data);
    this.onWritten?.(chunks);
  }

  /** Write whatever is still gathered. */
  async flush(): Promise<void> {
    await this.#flushPending();
  }

  /** Commit every byte, attach the record, and close: the attributes the record describes. */
  async seal(record: (attr: Attr) => ObjectRecord): Promise<Attr> {
    await this.#flushPending();
    const fh = this.#handle();
    await this.side.vfs.fsync(fh);
    const attr = await this.side.vfs.getattr(this.ino);
    await this.side.vfs.setxattr(this.side.caller, this.ino, RECORD_XATTR, encodeRecord(record(attr)));
    this.#fh = null;
    await this.side.vfs.release(fh);
    return attr;
  }

  /** Close without keeping anything (errors, disconnects). */
  async discard(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    this.#pending = [];
    if (fh !== null) await this.side.vfs.release(fh).catch(() => undefined);
    await this.side.vol.unlink(this.path).catch(() => undefined);
  }
}

export class Staging {
  #tmpIno: number | null = null;

  constructor(private readonly gv: GatewayVolume) {}

  /** The reserved directories, root-only (0700) so that no other user of the volume looks in. */
  async ensure(): Promise<void> {
    const sys = this.gv.system.vol;
    for (const dir of [`/${SYSTEM_DIR}`, TMP_DIR, UPLOADS_DIR]) {
      await sys.mkdir(dir, { mode: 0o700 }).catch((err: unknown) => {
        if (errorCode(err) !== 'EEXIST') throw err;
      });
    }
  }

  async #tmpDir(): Promise<number> {
    if (this.#tmpIno !== null) return this.#tmpIno;
    let attr = await this.gv.resolve(TMP_DIR, this.gv.system);
    if (!attr) {
      await this.ensure();
      attr = await this.gv.resolve(TMP_DIR, this.gv.system);
    }
    if (!attr) throw new Error(`cannot create the gateway's staging directory ${TMP_DIR}`);
    this.#tmpIno = attr.ino;
    return attr.ino;
  }

  async createTemp(): Promise<TempFile> {
    const side = this.gv.system;
    for (let attempt = 0; ; attempt++) {
      const dir = await this.#tmpDir();
      const name = randomName();
      try {
        const { fh, attr } = await side.vfs.create(side.caller, dir, name, 0o644, O_WRONLY | O_CREAT | O_EXCL);
        return new TempFile(side, dir, name, attr.ino, fh);
      } catch (err) {
        // The staging directory was removed under us: make it again, once.
        if (attempt > 0 || (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR')) throw err;
        this.#tmpIno = null;
      }
    }
  }

  /** Remove temp files older than `maxAgeMs` (left by a crashed gateway). */
  async sweepTemp(maxAgeMs: number): Promise<number> {
    const sys = this.gv.system.vol;
    const names = await sys.readdir(TMP_DIR).catch(() => [] as string[]);
    let removed = 0;
    const cutoff = Date.now() - maxAgeMs;
    for (const name of names) {
      const st = await sys.lstat(`${TMP_DIR}/${name}`).catch(() => null);
      if (!st || st.mtimeMs > cutoff) continue;
      await sys.unlink(`${TMP_DIR}/${name}`).then(() => { removed++; }, () => undefined);
    }
    return removed;
  }
}
