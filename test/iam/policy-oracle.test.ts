// The evaluator against an independent one, @cloud-copilot/iam-simulate, on 10,000 random
// policy/request pairs. What the generators leave out, and why, is listed in
// policy-oracle-arbitraries.ts.
import fc from 'fast-check';
import { anonymousPrincipal, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { decide, evaluatePolicies, type Decision, type Effect } from '../../src/iam/policy/evaluate.js';
import { ACCOUNT, accessRequest, oracleDecision, oracleResourcePolicy, policySets, scenario, type Scenario } from './policy-oracle-arbitraries.js';

const DECIDE_RUNS = 7000;
const SET_RUNS = 3000;

type Outcome = 'allowed' | 'explicit' | 'implicit';
const outcome = (d: Decision): Outcome => (d.allowed ? 'allowed' : d.explicit ? 'explicit' : 'implicit');

/** The oracle's verdict on one set of policies alone: identity policies, or a bucket policy with no identity policies beside it. */
function oracleEffect(s: Scenario, which: 'identity' | 'resource'): Effect {
  const docs = which === 'identity' ? s.identity : s.resourcePolicies;
  const result = runUnsafeSimulation(
    {
      request: {
        principal: s.principal ?? anonymousPrincipal,
        action: s.action,
        resource: { resource: s.resource, accountId: ACCOUNT },
        contextVariables: s.context,
      },
      identityPolicies: which === 'identity' ? docs.map((policy, i) => ({ name: `p${i}`, policy })) : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: which === 'resource' ? oracleResourcePolicy(docs) : undefined,
    },
    {},
  );
  return result === 'Allowed' ? 'allow' : result === 'ExplicitlyDenied' ? 'deny' : 'none';
}

describe('policy evaluation agrees with iam-simulate', () => {
  it(`decide() on ${DECIDE_RUNS} random identity/bucket/narrowing policy sets`, () => {
    const seen: Record<Outcome, number> = { allowed: 0, explicit: 0, implicit: 0 };
    fc.assert(
      fc.property(scenario(), (s) => {
        const ours = decide(policySets(s), accessRequest(s));
        seen[outcome(ours)]++;
        expect(ours).toEqual(oracleDecision(s));
      }),
      { numRuns: DECIDE_RUNS },
    );
    // The generators must keep producing every outcome, or the comparison proves little.
    for (const o of Object.keys(seen) as Outcome[]) expect(seen[o], `${o}: ${JSON.stringify(seen)}`).toBeGreaterThan(DECIDE_RUNS * 0.15);
  });

  it(`evaluatePolicies() on ${SET_RUNS} random identity policy sets and bucket policies`, () => {
    const seen: Record<Effect, number> = { allow: 0, deny: 0, none: 0 };
    fc.assert(
      fc.property(scenario(1), fc.constantFrom<'identity' | 'resource'>('identity', 'resource'), (s, which) => {
        const sets = policySets(s);
        const ours = evaluatePolicies(which === 'identity' ? sets.identity : sets.resource, accessRequest(s));
        seen[ours]++;
        expect(ours).toBe(oracleEffect(s, which));
      }),
      { numRuns: SET_RUNS },
    );
    for (const e of Object.keys(seen) as Effect[]) expect(seen[e], `${e}: ${JSON.stringify(seen)}`).toBeGreaterThan(SET_RUNS * 0.1);
  });
});
