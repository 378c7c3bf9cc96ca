// The Principal and NotPrincipal elements of a bucket policy, and whom they name.
//
// - "*" and {"AWS": "*"} name everyone, anonymous callers included.
// - {"AWS": "<account id>"} and {"AWS": "arn:aws:iam::<account id>:root"} name the account. As in
//   AWS, that delegates to the account: a Deny applies to every principal of the account (its
//   root included), but an Allow does not grant them anything by itself; their own identity
//   policies must allow the request.
// - {"AWS": "<user or role ARN>"} names that principal exactly. AWS allows no partial wildcards
//   in principal ARNs.
// - {"CanonicalUser": "<id>"} names the caller whose canonical id is that.
// - {"Service": ...} and {"Federated": ...} are accepted but match no caller of this gateway.
import { PolicyError } from './policy-error.js';

export interface Principals {
  readonly everyone: boolean;
  readonly arns: ReadonlySet<string>;
  readonly accounts: ReadonlySet<string>;
  readonly canonicalIds: ReadonlySet<string>;
}

/** How a caller is named: directly, only through its account, or not at all. */
export type PrincipalMatch = 'direct' | 'account' | 'none';

const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_ROOT = /^arn:[^:]+:iam::(\d{12}):root$/;
const PRINCIPAL_ARN = /^arn:[^:]+:(iam|sts)::\d{12}:\S+$/;
const KNOWN_TYPES = new Set(['AWS', 'CanonicalUser', 'Service', 'Federated']);

function names(type: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v !== '')) {
    throw new PolicyError(`"${type}" must be a principal or a non-empty list of them`);
  }
  return list as string[];
}

export function parsePrincipals(element: unknown): Principals {
  const arns = new Set<string>();
  const accounts = new Set<string>();
  const canonicalIds = new Set<string>();
  let everyone = false;
  if (element === '*') return { everyone: true, arns, accounts, canonicalIds };
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    throw new PolicyError('must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:user/name"}');
  }
  const entries = Object.entries(element);
  if (entries.length === 0) throw new PolicyError('names no principal');
  for (const [type, value] of entries) {
    if (!KNOWN_TYPES.has(type)) throw new PolicyError(`unknown principal type "${type}" (AWS, CanonicalUser, Service or Federated)`);
    for (const name of names(type, value)) {
      if (type === 'AWS' && name === '*') {
        everyone = true;
        continue;
      }
      if (name.includes('*') || name.includes('?')) throw new PolicyError(`"${name}": a wildcard may only be the whole principal ("*")`);
      if (type === 'CanonicalUser') canonicalIds.add(name);
      if (type !== 'AWS') continue;
      const root = ACCOUNT_ROOT.exec(name);
      if (ACCOUNT_ID.test(name)) accounts.add(name);
      else if (root) accounts.add(root[1]);
      else if (PRINCIPAL_ARN.test(name)) arns.add(name);
      else throw new PolicyError(`invalid principal "${name}" (an account id or an IAM/STS ARN)`);
    }
  }
  return { everyone, arns, accounts, canonicalIds };
}

/** The account of an ARN such as arn:aws:iam::123456789012:user/alice. */
function accountOf(arn: string): string | undefined {
  let from = 0;
  for (let i = 0; i < 4; i++) {
    from = arn.indexOf(':', from) + 1;
    if (from === 0) return undefined;
  }
  const end = arn.indexOf(':', from);
  return end < 0 ? undefined : arn.slice(from, end);
}

export function matchPrincipal(p: Principals, principal: string | null, canonicalId: string | undefined): PrincipalMatch {
  if (p.everyone) return 'direct';
  if (principal === null) return 'none';
  if (p.arns.has(principal)) return 'direct';
  if (canonicalId !== undefined && p.canonicalIds.has(canonicalId)) return 'direct';
  if (p.accounts.size > 0) {
    const account = accountOf(principal);
    if (account !== undefined && p.accounts.has(account)) return 'account';
  }
  return 'none';
}
