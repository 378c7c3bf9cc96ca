// Evaluating policies for a request, with AWS's logic for a request within one account.
//
// A statement applies when its action, resource, principal (bucket policies only) and every
// condition match. In a set of policies an applicable Deny wins, then an applicable Allow; with
// neither the set says nothing. decide() combines the caller's identity policies, the narrowing
// sets (a service account's own policy, a session policy) and the bucket policy.
//
// Simplification: in AWS a session policy also narrows a bucket policy grant that names the
// session's user rather than the session itself. Here the narrowing sets narrow identity policy
// grants only; a bucket policy grant to the caller stands on its own.
import { compiled, type Statement } from './compiled-policy.js';
import { conditionHolds } from './condition.js';
import type { RequestContext } from './context-key.js';
import type { Policy } from './document.js';
import { matchPrincipal } from './principal.js';

export interface AccessRequest {
  /** e.g. 's3:GetObject' (matched case-insensitively). */
  action: string;
  /** The ARN acted on, e.g. 'arn:aws:s3:::bucket/key' (matched case-sensitively). */
  resource: string;
  /** The caller's ARN ('arn:aws:iam::<account>:user/<name>', or '...:root' for the account root); null for an anonymous request. */
  principal: string | null;
  /** The caller's S3 canonical user id, matched by {"CanonicalUser": id} principals. */
  canonicalId?: string;
  /**
   * Condition context. Key names lowercased up to their first '/', the rest (a tag key) as is:
   * 'aws:sourceip', 's3:prefix', 's3:existingobjecttag/Color' (see normalizeContextKey). A missing
   * key is absent. Multivalued keys (aws:TagKeys) are arrays, single-valued ones strings.
   */
  context: RequestContext;
}

/** 'deny' = an explicit Deny matched. */
export type Effect = 'allow' | 'deny' | 'none';

/** Whether a statement whose action element covers the request applies to it. */
function statementApplies(s: Statement, req: AccessRequest): boolean {
  if (s.resources === 'all' ? s.notResource : s.resources.matches(req.resource, req.context) === s.notResource) return false;
  if (s.principals !== null) {
    const m = matchPrincipal(s.principals, req.principal, req.canonicalId);
    const named = s.notPrincipal ? (m === 'none' ? 'direct' : 'none') : m;
    // Naming the caller's account delegates to the account: it denies, but grants nothing by itself.
    if (named === 'none' || (s.allow && named === 'account')) return false;
  }
  for (const c of s.conditions) {
    if (!conditionHolds(c, req.context)) return false;
  }
  return true;
}

/**
 * The effect of a set of policies on a request: explicit deny wins, then allow, else none. In a
 * bucket policy, an Allow that names the caller's account rather than the caller does not count
 * (it delegates to the account's identity policies); a Deny naming the account does.
 */
export function evaluatePolicies(policies: readonly Policy[], req: AccessRequest): Effect {
  let allowed = false;
  for (const p of policies) {
    for (const s of compiled(p).statementsFor(req.action)) {
      // Once something allows, only a Deny can change the answer.
      if (s.allow && allowed) continue;
      if (!statementApplies(s, req)) continue;
      if (!s.allow) return 'deny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'none';
}

export interface PolicySets {
  /** The caller's own, its groups', attached managed ones (inheritance = union). */
  identity: readonly Policy[];
  /** The bucket policy (Principal applies). */
  resource: readonly Policy[];
  /** Each entry narrows what identity policies allow: the request must also be allowed by every one of these sets. An empty outer array narrows nothing. */
  limits: readonly (readonly Policy[])[];
}

export type Decision = { allowed: true } | { allowed: false; explicit: boolean };

const ALLOWED: Decision = Object.freeze({ allowed: true });
const EXPLICITLY_DENIED: Decision = Object.freeze({ allowed: false, explicit: true });
const IMPLICITLY_DENIED: Decision = Object.freeze({ allowed: false, explicit: false });

/**
 * AWS's same-account logic: any explicit Deny in any set denies; else allowed when (identity
 * allows AND every limit allows) OR the resource policy allows this principal; else implicitly
 * denied. Anonymous callers (principal null) have no identity policies: only a resource policy
 * whose Principal is "*" (or {"AWS":"*"}) can allow them.
 */
export function decide(sets: PolicySets, req: AccessRequest): Decision {
  const resource = evaluatePolicies(sets.resource, req);
  if (resource === 'deny') return EXPLICITLY_DENIED;
  if (req.principal === null) return resource === 'allow' ? ALLOWED : IMPLICITLY_DENIED;
  const identity = evaluatePolicies(sets.identity, req);
  if (identity === 'deny') return EXPLICITLY_DENIED;
  let limitsAllow = true;
  for (const limit of sets.limits) {
    const effect = evaluatePolicies(limit, req);
    if (effect === 'deny') return EXPLICITLY_DENIED;
    if (effect === 'none') limitsAllow = false;
  }
  return (identity === 'allow' && limitsAllow) || resource === 'allow' ? ALLOWED : IMPLICITLY_DENIED;
}
