// Who an access key is: the gateway's root, an IAM user, a service account (its parent user,
// narrowed by its own policy) or a temporary session (the user who asked for it, narrowed by the
// session policy, until it expires). Disabled users and inactive keys are nobody.
import { isSessionKey } from './ids.js';
import { IamError, nameKey } from './records.js';
import { SealingError } from './sealing.js';
import { openSession } from './sessions.js';
import type { IamStore, Snapshot } from './store.js';

export type PrincipalKind = 'root' | 'user' | 'service-account' | 'session' | 'anonymous';

export interface Principal {
  kind: PrincipalKind;
  accessKey: string;
  /** The IAM user acting (a service account's or session's user); null for root and anonymous. */
  user: string | null;
  /** What policies name the caller by: the user's ARN, the account root's for root. */
  arn: string | null;
  /** aws:userid */
  userId: string | null;
  /** Policy documents that each narrow what the user's own policies allow. */
  limits: string[];
  /** Sessions: when the credentials stop working (ms since the epoch). */
  expires?: number;
  /** Sessions: a session of a service account keeps its account's narrowing. */
  serviceAccount?: string;
}

export const ANONYMOUS: Principal = { kind: 'anonymous', accessKey: '', user: null, arn: null, userId: null, limits: [] };

export function rootPrincipal(store: IamStore | null, accessKey: string): Principal {
  return { kind: 'root', accessKey, user: null, arn: store?.rootArn ?? null, userId: store?.account ?? null, limits: [] };
}

/**
 * The secret and principal of an access key, or null when the store has no such key. A session
 * key needs its token; a bad or expired one throws InvalidToken/ExpiredToken.
 */
export async function resolveAccessKey(store: IamStore, accessKey: string, sessionToken: string | undefined): Promise<{ secret: string; principal: Principal } | null> {
  const snap = await store.snapshot();
  if (!isSessionKey(accessKey) && sessionToken === undefined) {
    // Long-term keys are resolved (and their secrets unsealed) once per store snapshot.
    let perSnap = resolved.get(snap);
    if (!perSnap) {
      perSnap = new Map();
      resolved.set(snap, perSnap);
    }
    const hit = perSnap.get(accessKey);
    if (hit) return hit;
    // Unknown keys are not remembered: a flood of made-up keys must not fill memory.
    const found = resolveLongTerm(store, snap, accessKey);
    if (found && perSnap.size < 100_000) perSnap.set(accessKey, found);
    return found;
  }
  if (isSessionKey(accessKey)) {
    if (sessionToken === undefined) throw new IamError('InvalidToken', 'Temporary credentials need their session token (x-amz-security-token).', 400);
    const s = openSession(store, sessionToken);
    if (s.accessKey !== accessKey) throw new IamError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
    if (store.nowMs() >= s.expires) throw new IamError('ExpiredToken', 'The provided token has expired.', 400);
    let base: Principal;
    if (s.user === null) {
      base = rootPrincipal(store, accessKey);
    } else {
      const u = snap.users.get(nameKey(s.user));
      if (!u || !u.enabled || (s.userId !== undefined && u.id !== s.userId)) throw new IamError('InvalidToken', `The user ${s.user} these credentials were issued to no longer exists or is disabled.`, 403);
      // The key that asked for the session must still be valid (a user's own key; a service
      // account is checked below).
      if (s.issuedBy !== undefined && s.serviceAccount === undefined && !u.keys.some((k) => k.accessKey === s.issuedBy && k.status === 'Active')) {
        throw new IamError('InvalidToken', 'The access key these credentials were issued to was deleted or deactivated.', 403);
      }
      base = { kind: 'user', accessKey, user: u.name, arn: store.arn('user', u), userId: u.id, limits: [] };
      if (s.serviceAccount !== undefined) {
        const svc = snap.serviceAccounts.get(s.serviceAccount);
        if (!svc || svc.status !== 'Active') throw new IamError('InvalidToken', 'The service account these credentials were issued to no longer exists or is inactive.', 403);
        if (svc.policy !== undefined) base.limits.push(svc.policy);
      }
    }
    return {
      secret: s.secretKey,
      principal: { ...base, kind: 'session', limits: s.policy === undefined ? base.limits : [...base.limits, s.policy], expires: s.expires, ...(s.serviceAccount !== undefined ? { serviceAccount: s.serviceAccount } : {}) },
    };
  }
  throw new IamError('InvalidToken', 'A session token was sent with long-term credentials.', 400);
}

const resolved = new WeakMap<Snapshot, Map<string, { secret: string; principal: Principal }>>();

function resolveLongTerm(store: IamStore, snap: Snapshot, accessKey: string): { secret: string; principal: Principal } | null {
  try {
    return findLongTerm(store, snap, accessKey);
  } catch (err) {
    // A secret sealed under another root secret key: as good as no key (the store says how).
    if (err instanceof SealingError) {
      store.report(`the secret of access key ${accessKey} does not open with this gateway's root secret key: the key is refused`);
      return null;
    }
    throw err;
  }
}

function findLongTerm(store: IamStore, snap: Snapshot, accessKey: string): { secret: string; principal: Principal } | null {
  const owner = snap.userKeys.get(accessKey);
  if (owner !== undefined) {
    const u = snap.users.get(owner)!;
    const k = u.keys.find((x) => x.accessKey === accessKey)!;
    if (!u.enabled || k.status !== 'Active') return null;
    return { secret: store.secretOf(accessKey, k.sealedSecret), principal: { kind: 'user', accessKey, user: u.name, arn: store.arn('user', u), userId: u.id, limits: [] } };
  }
  const svc = snap.serviceAccounts.get(accessKey);
  if (svc && svc.status === 'Active') {
    const u = snap.users.get(nameKey(svc.parent));
    if (!u || !u.enabled) return null;
    return {
      secret: store.secretOf(accessKey, svc.sealedSecret),
      principal: { kind: 'service-account', accessKey, user: u.name, arn: store.arn('user', u), userId: u.id, limits: svc.policy === undefined ? [] : [svc.policy], serviceAccount: accessKey },
    };
  }
  return null;
}
