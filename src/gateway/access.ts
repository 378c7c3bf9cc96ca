// The gateway's authorizer: AWS's evaluation of the caller's identity policies (its own, its
// groups', attached managed ones), the narrowing of a service account's or session's policy, and
// the bucket policy, with one rule AWS gives bucket owners through ACLs: the user who created a
// bucket may do anything in it that no policy explicitly denies (its credentials' narrowing
// still applies). The account root may do everything. A request about a bucket that does not
// exist is let through, so that it is answered NoSuchBucket whoever asks.
import { decide, evaluatePolicies, type AccessRequest } from '../iam/policy/evaluate.js';
import { parsePolicy, type Policy } from '../iam/policy/document.js';
import { nameKey } from '../iam/records.js';
import type { IpRange } from '../iam/policy/ip-address.js';
import type { IamStore, Snapshot } from '../iam/store.js';
import type { Identity } from './auth.js';
import { ownershipOf } from './acl/for-write.js';
import { aclGrants, canonicalId, type Permission } from './acl/model.js';
import { createdBy, type BucketAccess, type BucketAccessView } from './bucket-access.js';
import { addExistingTags, conditionContext } from './condition-keys.js';
import { S3Error } from './errors.js';
import type { AuthorizationRequest, Authorizer } from './hooks.js';
import { isPublicPolicy } from './policy-status.js';

/** The ARN an S3 action is about: the object, the bucket, or every bucket. */
export function s3Resource(bucket: string | null, key: string | null): string {
  if (bucket === null) return 'arn:aws:s3:::*';
  return key === null ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/** Compiled policies, kept per store snapshot (identity policies) or per text (narrowings). */
class PolicyCache {
  readonly #identity = new WeakMap<Snapshot, Map<string, Policy[]>>();
  readonly #byText = new Map<string, Policy>();

  compile(text: string, kind: 'identity' | 'resource' = 'identity'): Policy {
    let p = this.#byText.get(text);
    if (!p) {
      p = parsePolicy(text, kind);
      if (this.#byText.size > 4096) this.#byText.clear();
      this.#byText.set(text, p);
    }
    return p;
  }

  /** A user's policies: inline and attached, its own and its groups' (inheritance is union). */
  identityPolicies(snap: Snapshot, user: string): Policy[] {
    let perUser = this.#identity.get(snap);
    if (!perUser) {
      perUser = new Map();
      this.#identity.set(snap, perUser);
    }
    const key = nameKey(user);
    let out = perUser.get(key);
    if (out) return out;
    out = [];
    const u = snap.users.get(key);
    if (u) {
      const holders = [u, ...u.groups.map((g) => snap.groups.get(nameKey(g))).filter((g) => g !== undefined)];
      for (const h of holders) {
        for (const text of Object.values(h.inline)) out.push(this.compile(text));
        for (const name of h.attached) {
          const managed = snap.policies.get(nameKey(name));
          if (managed) out.push(this.compile(managed.document));
        }
      }
    }
    perUser.set(key, out);
    return out;
  }
}

const tagConditions = new WeakMap<Policy, boolean>();

/** Does any policy test s3:ExistingObjectTag (which costs a read of the object's tags)? */
function mentionsExistingTags(policies: readonly Policy[]): boolean {
  return policies.some((p) => {
    let m = tagConditions.get(p);
    if (m === undefined) {
      m = /existingobjecttag/i.test(p.text);
      tagConditions.set(p, m);
    }
    return m;
  });
}

/** What an ACL grant on the bucket allows (object writes are the bucket's WRITE). */
const BUCKET_ACL_PERMISSION: Readonly<Record<string, Permission>> = {
  's3:ListBucket': 'READ', 's3:ListBucketVersions': 'READ', 's3:ListBucketMultipartUploads': 'READ', 's3:PutObject': 'WRITE', 's3:DeleteObject': 'WRITE',
  's3:AbortMultipartUpload': 'WRITE',
  's3:GetBucketAcl': 'READ_ACP', 's3:PutBucketAcl': 'WRITE_ACP',
};
/** What an ACL grant on an object allows. */
const OBJECT_ACL_PERMISSION: Readonly<Record<string, Permission>> = {
  's3:GetObject': 'READ', 's3:GetObjectAcl': 'READ_ACP', 's3:PutObjectAcl': 'WRITE_ACP',
};

/** Actions on a bucket's configuration, refused to anonymous callers as S3 refuses them. */
const OWNER_ONLY: ReadonlySet<string> = new Set([
  's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:GetBucketPolicy', 's3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock',
  's3:PutBucketOwnershipControls', 's3:PutBucketAcl', 's3:DeleteBucket', 's3:PutBucketTagging', 's3:CreateBucket',
  's3:PutBucketNotification', 's3:GetBucketNotification',
]);

export interface AccessDeps {
  store: IamStore;
  buckets: BucketAccess;
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (see client-address.ts). */
  proxies?: readonly IpRange[];
  now?: () => number;
}

export class AccessControl {
  readonly #cache = new PolicyCache();

  constructor(private readonly deps: AccessDeps) {}

  /** Allowed? (false: denied, explicitly or by default). A request about a bucket that does not
   * exist throws NoSuchBucket, whoever asks. */
  async allowed(r: AuthorizationRequest): Promise<boolean> {
    const id = r.identity;
    if (id.kind === 'root') return true;
    const view = r.bucket !== null && r.resource === undefined ? await this.deps.buckets.get(r.bucket) : null;
    if (r.bucket !== null && r.resource === undefined && view === null && r.action !== 's3:CreateBucket' && !r.creating) {
      throw new S3Error('NoSuchBucket', undefined, { BucketName: r.bucket.slice(0, 255) });
    }
    // A bucket's configuration is its owner's account's business: never an anonymous caller's,
    // whatever a careless policy says.
    if (id.kind === 'anonymous' && OWNER_ONLY.has(r.action)) return false;
    const snap = await this.deps.store.snapshot();
    const rootSession = id.user === null && id.kind === 'session';
    const identity = id.user === null || id.kind === 'anonymous' ? [] : this.#cache.identityPolicies(snap, id.user);
    const limits = id.limits.map((text) => [this.#cache.compile(text)]);
    const resource = this.#resourcePolicies(view, id);
    const context = conditionContext(id, r.action, r.req, (this.deps.now ?? Date.now)(), this.deps.proxies);
    if (r.context) Object.assign(context, r.context);
    if (r.existingTags && mentionsExistingTags([...identity, ...resource, ...limits.flat()])) addExistingTags(context, await r.existingTags());
    const request: AccessRequest = { action: r.action, resource: r.resource ?? s3Resource(r.bucket, r.key), principal: id.arn, context };
    // A service account's or session's own policy narrows every grant it uses: its user's
    // policies, the bucket policy's grants to its user, its user's ownership of the bucket.
    const narrowed = () => limits.every((set) => evaluatePolicies(set, request) === 'allow');
    // Root's session is root, narrowed by its session policy.
    if (rootSession) return narrowed();
    const d = decide({ identity, resource, limits }, request);
    if (!d.allowed && d.explicit) return false;
    if (d.allowed || (view !== null && createdBy(view.record, id)) || (await this.#aclAllows(r, view, id))) return narrowed();
    return false;
  }

  /** ACL grants: the bucket's for bucket actions and object writes, the object's for object
   * reads and its ACL (not consulted under BucketOwnerEnforced). */
  async #aclAllows(r: AuthorizationRequest, view: BucketAccessView | null, id: Identity): Promise<boolean> {
    if (view === null || ownershipOf(view.record) === 'BucketOwnerEnforced') return false;
    const onObject = OBJECT_ACL_PERMISSION[r.action];
    const onBucket = BUCKET_ACL_PERMISSION[r.action];
    if (onObject === undefined && onBucket === undefined) return false;
    const caller = canonicalId(id, this.deps.store.account);
    const ignorePublic = view.record.publicAccessBlock?.IgnorePublicAcls === true;
    if (onBucket !== undefined) {
      const acl = view.record.acl;
      return acl !== undefined && aclGrants(acl, onBucket, caller, ignorePublic);
    }
    const acl = r.key !== null && r.objectAcl ? await r.objectAcl() : null;
    return acl !== null && aclGrants(acl, onObject!, caller, ignorePublic);
  }

  /** The bucket policy, unless the public access block restricts a public one to the account's
   * own principals and the caller is anonymous. */
  #resourcePolicies(view: BucketAccessView | null, id: Identity): Policy[] {
    if (view?.policy == null) return [];
    if (id.kind === 'anonymous' && view.record.publicAccessBlock?.RestrictPublicBuckets && isPublicPolicy(view.record.policy!)) return [];
    return [view.policy];
  }


  readonly authorize: Authorizer = async (r) => {
    if (await this.allowed(r)) return;
    // S3 tells a caller who may list the bucket that a missing key is missing, not forbidden.
    if (r.action === 's3:GetObject' && r.bucket !== null && r.key !== null && r.objectExists && !(await r.objectExists())
      // Judged as a plain listing: s3:prefix and the like from this request's own query would
      // let a caller choose the prefix its listing right is checked for.
      && (await this.allowed({ ...r, action: 's3:ListBucket', key: null, objectExists: undefined, req: r.req && { ...r.req, query: new Map(), params: [] } }))) {
      throw new S3Error('NoSuchKey', undefined, { Key: r.key });
    }
    throw new S3Error('AccessDenied');
  };
}
