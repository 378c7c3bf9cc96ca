// Runs the documented cases of policy-cases.ts through decide().
import { describe, expect, it } from 'vitest';
import { normalizeContextKey } from '../../src/iam/policy/context-key.js';
import { parsePolicy } from '../../src/iam/policy/document.js';
import { decide, type AccessRequest, type Decision } from '../../src/iam/policy/evaluate.js';
import { ALICE, POLICY_CASES, type Expected, type PolicyCase } from './policy-cases.js';

function run(c: PolicyCase): Decision {
  const context: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.request.context ?? {})) context[normalizeContextKey(k)] = v;
  const request: AccessRequest = {
    action: c.request.action,
    resource: c.request.resource,
    principal: c.request.principal === undefined ? ALICE : c.request.principal,
    canonicalId: c.request.canonicalId,
    context,
  };
  const parse = (docs: readonly object[] | undefined, kind: 'identity' | 'resource') => (docs ?? []).map((d) => parsePolicy(JSON.stringify(d), kind));
  return decide(
    { identity: parse(c.identity, 'identity'), resource: parse(c.resource, 'resource'), limits: (c.limits ?? []).map((set) => parse(set, 'identity')) },
    request,
  );
}

const verdict = (d: Decision): Expected => (d.allowed ? 'allow' : d.explicit ? 'deny' : 'implicit');

describe('documented policy cases', () => {
  it('has at least 200 cases with distinct names', () => {
    expect(POLICY_CASES.length).toBeGreaterThanOrEqual(200);
    expect(new Set(POLICY_CASES.map((c) => c.name)).size).toBe(POLICY_CASES.length);
  });

  it.each(POLICY_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(verdict(run(c))).toBe(c.expect);
  });
});
