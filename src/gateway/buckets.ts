// Buckets are the top-level directories of the volume. The trash and the gateway's reserved
// directory are never buckets, nor is any directory whose name S3 would not accept.
import { ROOT_INODE, type QueuedEvent } from '../meta/meta.js';
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { isDir } from '../vfs/attr.js';
import { S3Error, fromCoreError } from './errors.js';
import { bucketNameProblem, checkBucketName } from './names.js';
import type { GatewayVolume } from './volume.js';

export interface BucketInfo {
  name: string;
  created: Date;
}

export class Buckets {
  constructor(private readonly gv: GatewayVolume) {}

  async list(): Promise<BucketInfo[]> {
    const { vfs, caller } = this.gv.user;
    const out: BucketInfo[] = [];
    for (let cookie = 0; ;) {
      const page = await vfs.readdir(caller, 1, cookie, 1024);
      if (page.length === 0) break;
      cookie = page[page.length - 1].cookie;
      for (const e of page) {
        if (!isDir(e) || bucketNameProblem(e.name) !== null) continue;
        const attr = await vfs.getattr(e.ino).catch(() => null);
        if (attr) out.push({ name: e.name, created: new Date(Number(attr.birthtimeNs / 1_000_000n)) });
      }
      if (page.length < 1024) break;
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The bucket's directory; NoSuchBucket when there is none (or the name is not a bucket's). */
  async get(name: string): Promise<Attr> {
    if (bucketNameProblem(name) !== null) throw new S3Error('NoSuchBucket', undefined, { BucketName: name.slice(0, 255) });
    const { vfs, caller } = this.gv.user;
    const attr = await vfs.lookup(caller, 1, name).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return null;
      throw fromCoreError(err);
    });
    if (!attr || !isDir(attr)) throw new S3Error('NoSuchBucket', undefined, { BucketName: name });
    return attr;
  }

  async create(name: string, events?: readonly QueuedEvent[]): Promise<void> {
    checkBucketName(name);
    try {
      const sys = this.gv.system;
      await sys.vfs.mkdir(sys.caller, ROOT_INODE, name, 0o755, events);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw fromCoreError(err);
      const existing = await this.gv.resolve(`/${name}`);
      if (existing && isDir(existing)) throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: name });
      throw new S3Error('BucketAlreadyExists', `The name "${name}" is taken by a file at the top of the volume.`, { BucketName: name });
    }
  }

  async delete(name: string, events?: readonly QueuedEvent[]): Promise<void> {
    await this.get(name);
    try {
      const user = this.gv.user;
      await user.vfs.rmdir(user.caller, ROOT_INODE, name, undefined, events);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new S3Error('BucketNotEmpty', undefined, { BucketName: name });
      if (code === 'ENOENT') throw new S3Error('NoSuchBucket', undefined, { BucketName: name });
      throw fromCoreError(err);
    }
  }
}
