// Who owns a bucket and who else may reach it: the owner, the bucket policy and the public access
// block, kept together in one trusted xattr of the bucket's directory (one read per bucket per
// REFRESH_MS on the request path; a change made through another gateway is seen within that
// time, one made here at once).
import { errorCode } from '../errors/errno.js';
import { REFRESH_MS } from '../iam/store.js';
import type { Identity } from './auth.js';
import type { ObjectOwnership } from './acl/for-write.js';
import type { Acl } from './acl/model.js';
import { parsePolicy, type Policy } from '../iam/policy/document.js';
import { fromCoreError } from './errors.js';
import { bucketNameProblem } from './names.js';
import type { GatewayVolume } from './volume.js';

export const ACCESS_XATTR = 'trusted.s3.access';

export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

export interface BucketAccessRecord {
  /** The IAM user who created the bucket (name, and unique id, which is what ownership is
   * judged by: a user deleted and created again under the same name owns nothing of the old
   * one's); absent: the account's root. */
  owner?: string;
  ownerId?: string;
  policy?: string;
  publicAccessBlock?: PublicAccessBlock;
  /** Object ownership (absent: ObjectWriter, ACLs enabled). */
  ownership?: ObjectOwnership;
  /** The bucket's ACL (absent: its owner's full control). */
  acl?: Acl;
}

/** Is the caller the user who created the bucket? (Judged by unique id; root owns the buckets
 * no user created, which this does not answer.) */
export function createdBy(record: BucketAccessRecord, identity: Pick<Identity, 'kind' | 'userId'>): boolean {
  return record.ownerId !== undefined && identity.kind !== 'root' && identity.kind !== 'anonymous' && identity.userId === record.ownerId;
}

export interface BucketAccessView {
  record: BucketAccessRecord;
  policy: Policy | null;
}

export class BucketAccess {
  readonly #cache = new Map<string, { at: number; view: BucketAccessView }>();

  constructor(private readonly gv: GatewayVolume, private readonly now: () => number = Date.now) {}

  /** What governs access to `bucket`, or null when there is no such bucket (not remembered: a
   * bucket made a moment later, anywhere, must be judged by its own record). */
  async get(bucket: string): Promise<BucketAccessView | null> {
    const hit = this.#cache.get(bucket);
    if (hit && this.now() - hit.at < REFRESH_MS) return hit.view;
    const view = await this.#read(bucket);
    if (view === null) return null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(bucket, { at: this.now(), view });
    return view;
  }

  async #ino(bucket: string): Promise<number | null> {
    // Only a bucket's directory has an access record: never the trash or the gateway's own.
    if (bucketNameProblem(bucket) !== null) return null;
    const { vfs, caller } = this.gv.user;
    try {
      const attr = await vfs.lookup(caller, 1, bucket);
      return (attr.mode & 0o170000) === 0o040000 ? attr.ino : null;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENAMETOOLONG' || code === 'EINVAL') return null;
      throw fromCoreError(err);
    }
  }

  async #read(bucket: string): Promise<BucketAccessView | null> {
    const ino = await this.#ino(bucket);
    if (ino === null) return null;
    const record = await this.#record(ino);
    // A stored policy was parsed when it was put; one that no longer parses (damaged) allows nothing.
    let policy: Policy | null = null;
    if (record.policy !== undefined) {
      try {
        policy = parsePolicy(record.policy, 'resource');
      } catch {
        policy = null;
      }
    }
    return { record, policy };
  }

  async #record(ino: number): Promise<BucketAccessRecord> {
    const { vfs, caller } = this.gv.system;
    try {
      return JSON.parse(Buffer.from(await vfs.getxattr(caller, ino, ACCESS_XATTR)).toString()) as BucketAccessRecord;
    } catch (err) {
      if (errorCode(err) === 'ENODATA') return {};
      if (err instanceof SyntaxError) return {};
      throw fromCoreError(err);
    }
  }

  readonly #updating = new Map<string, Promise<unknown>>();

  /** Change a bucket's record (read afresh, one change at a time per bucket in this process, so
   * that checks made in `change` hold for what it writes); false when there is no such bucket. */
  update(bucket: string, change: (r: BucketAccessRecord) => BucketAccessRecord): Promise<boolean> {
    const before = this.#updating.get(bucket) ?? Promise.resolve();
    const run = before.then(() => this.#update(bucket, change), () => this.#update(bucket, change));
    const settled = run.catch(() => undefined);
    this.#updating.set(bucket, settled);
    void settled.then(() => { if (this.#updating.get(bucket) === settled) this.#updating.delete(bucket); });
    return run;
  }

  async #update(bucket: string, change: (r: BucketAccessRecord) => BucketAccessRecord): Promise<boolean> {
    const ino = await this.#ino(bucket);
    if (ino === null) return false;
    const next = change(await this.#record(ino));
    const { vfs, caller } = this.gv.system;
    try {
      await vfs.setxattr(caller, ino, ACCESS_XATTR, Buffer.from(JSON.stringify(next)), 0);
    } catch (err) {
      throw fromCoreError(err);
    }
    this.#cache.delete(bucket);
    return true;
  }

  forget(bucket: string): void {
    this.#cache.delete(bucket);
  }
}
