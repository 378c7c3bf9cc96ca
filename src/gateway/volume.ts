// The gateway's hold on a volume: two SDK clients of it, both root. `user` serves what clients
// ask (reads, deletions — which follow the volume's trash policy); `system` writes and keeps the
// gateway's own staging area, whose leftovers are freed at once instead of going to the trash.
import { errorCode } from '../errors/errno.js';
import { Volume, type VolumeOptions } from '../sdk/volume.js';
import type { Attr } from '../vfs/attr.js';
import { isDir } from '../vfs/attr.js';
import type { Caller } from '../vfs/permissions.js';
import { PathWalker } from '../vfs/resolve.js';
import type { Vfs } from '../vfs/vfs.js';
import { decodeRecord, RECORD_XATTR, type ObjectRecord } from './record.js';

export interface VolumeSide {
  readonly vol: Volume;
  readonly vfs: Vfs;
  readonly caller: Caller;
}

function side(vol: Volume): VolumeSide {
  return { vol, vfs: vol.vfs, caller: vol.caller };
}

export class GatewayVolume {
  readonly user: VolumeSide;
  readonly system: VolumeSide;
  readonly trashName: string;

  private constructor(user: Volume, system: Volume) {
    this.user = side(user);
    this.system = side(system);
    this.trashName = user.vfs.meta.trashName;
  }

  static async open(metaUrl: string, options: VolumeOptions = {}): Promise<GatewayVolume> {
    const base: VolumeOptions = { ...options, uid: 0, gid: 0, gids: [], umask: 0o022 };
    const user = await Volume.open(metaUrl, { ...base, client: 'gateway' });
    try {
      // The staging side only writes: a small read cache is enough. In a cache group it sends what
      // it writes to the owners but serves nothing (the user side is this process's member).
      const group = base.cacheGroup && { ...base.cacheGroup, sharing: false };
      const system = await Volume.open(metaUrl, { ...base, client: 'gateway-staging', skipTrash: true, memoryCacheSize: 4 * 1024 * 1024, cacheGroup: group });
      return new GatewayVolume(user, system);
    } catch (err) {
      await user.close().catch(() => undefined);
      throw err;
    }
  }

  /** Attributes of what `path` names (symlinks followed), or null when nothing is there. */
  async resolve(path: string, via: VolumeSide = this.user): Promise<Attr | null> {
    return (await this.resolveReal(path, via))?.attr ?? null;
  }

  /** resolve(), with the canonical path reached (where symlinks led). */
  async resolveReal(path: string, via: VolumeSide = this.user): Promise<{ attr: Attr; realpath: string } | null> {
    try {
      const r = await new PathWalker(via.vfs, via.caller, 'stat', path).resolve(true);
      return { attr: r.attr, realpath: r.realpath };
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return null;
      throw err;
    }
  }

  /** What a path inside `bucket` names, when it stays inside the bucket: a symlink leading out of
   * it (to another bucket, or the gateway's own directory) names nothing. */
  async resolveIn(bucket: string, path: string): Promise<Attr | null> {
    const r = await this.resolveReal(path);
    return r && r.realpath.startsWith(`/${bucket}/`) ? r.attr : null;
  }

  async isDirectory(path: string): Promise<boolean> {
    const a = await this.resolve(path);
    return a !== null && isDir(a);
  }

  /** The S3 record of an inode, or null (none, or not readable as one). */
  async record(ino: number, via: VolumeSide = this.user): Promise<ObjectRecord | null> {
    try {
      return decodeRecord(await via.vfs.getxattr(via.caller, ino, RECORD_XATTR));
    } catch (err) {
      if (errorCode(err) === 'ENODATA') return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    let first: unknown = null;
    await this.system.vol.close().catch((err: unknown) => { first ??= err; });
    await this.user.vol.close().catch((err: unknown) => { first ??= err; });
    if (first) throw first;
  }
}
