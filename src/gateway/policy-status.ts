// Is a bucket policy public? AWS's rule (S3 "The meaning of public"): it is, when a statement
// allows everyone (Principal "*", or Allow with NotPrincipal) without pinning the request to
// fixed values of a key that limits who can ask: a source address range, network, account, ARN,
// organisation or user id. Wildcards in those values do not pin, nor do address ranges wider than
// a /8 (IPv4) or /32 (IPv6): "0.0.0.0/1" twice is everyone.
import { parseIpRange } from '../iam/policy/ip-address.js';

const PINNING_KEYS = new Set([
  'aws:sourceip', 'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceaccount', 'aws:sourceowner',
  'aws:principalaccount', 'aws:principalarn', 'aws:principalorgid', 'aws:principalorgpaths', 'aws:principalservicename',
  'aws:userid', 's3:dataaccesspointarn', 's3:dataaccesspointaccount',
]);
const PINNING_OPERATORS = /^(StringEquals|StringEqualsIgnoreCase|ArnEquals|ArnLike|IpAddress|StringLike)$/i;

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function everyone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (principal !== null && typeof principal === 'object') {
    return Object.values(principal as Record<string, unknown>).some((v) => list(v).includes('*'));
  }
  return false;
}

function pinned(condition: unknown): boolean {
  if (condition === null || typeof condition !== 'object') return false;
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    if (!PINNING_OPERATORS.test(operator) || block === null || typeof block !== 'object') continue;
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      if (!PINNING_KEYS.has(key.toLowerCase())) continue;
      const vs = list(values).map(String);
      const open = vs.some((v) => v.includes('*') || v.includes('?') || (key.toLowerCase() === 'aws:sourceip' && wideRange(v)));
      if (vs.length > 0 && !open) return true;
    }
  }
  return false;
}

function wideRange(v: string): boolean {
  const r = parseIpRange(v);
  if (!r) return true;
  const bits = r.masks.reduce((n, m) => n + popcount(m), 0) - (r.v6 ? 0 : 96);
  return bits < (r.v6 ? 32 : 8);
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v >>>= 1) n += v & 1;
  return n;
}

export function isPublicPolicy(text: string): boolean {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(text) as { Statement?: unknown };
  } catch {
    return false;
  }
  return list(doc.Statement).some((s) => {
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow') return false;
    const open = st.NotPrincipal !== undefined || everyone(st.Principal);
    return open && !pinned(st.Condition);
  });
}
