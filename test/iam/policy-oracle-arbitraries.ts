// Random policies and requests for comparing the evaluator with @cloud-copilot/iam-simulate.
// Everything is drawn from small pools that overlap on purpose (the actions, ARNs, principals
// and condition values the requests use are the ones policies name), so that statements match
// often and all three outcomes (allowed, explicitly denied, implicitly denied) are common.
//
// Areas left out because the oracle departs from the AWS documentation there (each is covered by
// the hand-written cases in policy-cases.ts instead):
// - Epoch-second dates: the oracle compares an epoch value in seconds with ISO dates in
//   milliseconds. AWS documents both forms for Date* operators (IAM JSON policy reference,
//   "Date condition operators"). Only ISO 8601 dates are generated.
// - Policy variables without a value under negated operators and in NotResource: AWS says such a
//   value is null, nothing equals or is like it, and a Resource or NotResource entry holding one
//   matches no resource (IAM policy elements: Variables, "Policy variables with no value"), so
//   StringNotEquals holds and NotResource applies; the oracle makes the condition false and the
//   NotResource entry not apply. Variables are generated only under positive operators and in
//   Resource.
// - ForAnyValue with ...IfExists on an absent key: the IfExists suffix makes a condition on an
//   absent key true ("...IfExists condition operators"); the oracle ignores the suffix under a set
//   operator.
// - IP conditions with a bare address (no /prefix) against the other address family under
//   NotIpAddress, and IPv4 /0 ranges: the oracle answers false for both (its /0 mask is computed
//   with a 32-bit shift). Only CIDR ranges other than /0 are generated.
// - Request resources with * or ? in them: the oracle reads them as patterns; an S3 key is
//   literal. Generated keys have none.
// - Letter case of the partition/service/region/account parts of a Resource ARN (the oracle
//   ignores it; ARNs are matched case-sensitively here) and of tag keys in condition key names
//   (the oracle ignores it; S3 tag keys are case-sensitive here): generated with one spelling.
// - A bucket policy Deny with NotPrincipal while a narrowing set applies: the oracle maps the
//   narrowing set to a permissions boundary, and AWS documents that such a Deny then denies every
//   principal ("Permissions boundaries for IAM entities"); that rule is about boundaries, not
//   session or service-account policies, so such statements are dropped from those runs.
// - Documents without Version or with Version 2008-10-17, where "${...}" is literal (Policy
//   variables: "Variables were introduced in version 2012-10-17"): the oracle always substitutes.
//   Only 2012-10-17 documents are generated.
// - Policy variables in Arn* condition values: the oracle cuts the value at every colon, those
//   inside "${aws:...}" included. None are generated.
// - A narrowing set holding no policy (here it allows nothing; the oracle drops an empty
//   permissions boundary): sets have at least one policy.
// - {"CanonicalUser": id} principals: the oracle compares the id with the caller's ARN; requests
//   here carry no canonical id, so such principals match no one on either side.
// - Cross-account requests and role sessions: decide() implements same-account logic only.
import fc from 'fast-check';
import { anonymousPrincipal, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { normalizeContextKey } from '../../src/iam/policy/context-key.js';
import { parsePolicy, type Policy } from '../../src/iam/policy/document.js';
import type { AccessRequest, Decision, PolicySets } from '../../src/iam/policy/evaluate.js';

export const ACCOUNT = '111122223333';
export const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
export const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
export const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

type Json = string | number | boolean | Json[] | { [k: string]: Json };
type Doc = { Version: string; Statement: Record<string, Json>[] };

const oneOrList = <T extends Json>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | T[]> =>
  fc.oneof({ arbitrary: arb, weight: 2 }, { arbitrary: fc.uniqueArray(arb, { minLength: 1, maxLength: 3 }), weight: 1 });

const policyAction = fc.constantFrom(
  's3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject', 's3:Get*', 's3:*', '*', 'S3:getobject', 's3:?utObject', 's3:*Object',
);
const requestAction = fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject');

const FIXED_RESOURCES = [
  '*', 'arn:aws:s3:::photos', 'arn:aws:s3:::photos/*', 'arn:aws:s3:::photos/public/*', 'arn:aws:s3:::*', 'arn:aws:s3:::photo?/*',
  'arn:aws:s3:::logs', 'arn:aws:s3:::logs/*', 'arn:aws:s3:::*/public/*', 'arn:*:s3:::photos/*', 'arn:aws:s3:::photos${*}',
];
const VARIABLE_RESOURCES = [
  'arn:aws:s3:::photos/home/${aws:username}/*', 'arn:aws:s3:::photos/home/${aws:username, \'alice\'}/*', 'arn:aws:s3:::${aws:username}*',
];
const policyResource = fc.constantFrom(...FIXED_RESOURCES, ...VARIABLE_RESOURCES);
const policyNotResource = fc.constantFrom(...FIXED_RESOURCES);
const requestResource = fc.constantFrom(
  'arn:aws:s3:::photos', 'arn:aws:s3:::photos/home/alice/a.txt', 'arn:aws:s3:::photos/home/bob/b.txt', 'arn:aws:s3:::photos/public/x.jpg',
  'arn:aws:s3:::logs', 'arn:aws:s3:::logs/2024/01.log', 'arn:aws:s3:::photoz/k', 'arn:aws:s3:::alicebucket/k',
);

const principalElement: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  '*', { AWS: '*' }, { AWS: ALICE }, { AWS: [ALICE, BOB] }, { AWS: BOB }, { AWS: ACCOUNT }, { AWS: ROOT }, { AWS: '444455556666' },
  { AWS: 'arn:aws:iam::444455556666:user/carol' }, { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' },
);

interface KeySpec {
  readonly key: string;
  readonly operators: readonly string[];
  /** Values for positive operators (may hold policy variables). */
  readonly values: readonly Json[];
  /** Values for negated operators: no policy variables (see above). */
  readonly negatedValues?: readonly Json[];
  readonly requestValues: readonly (string | string[])[];
}

const withIfExists = (ops: readonly string[]): string[] => ops.flatMap((o) => [o, `${o}IfExists`]);
const STRING_OPS = ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'];

const KEYS: readonly KeySpec[] = [
  {
    key: 'aws:SourceIp',
    operators: withIfExists(['IpAddress', 'NotIpAddress']),
    values: ['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7/32', '2001:db8::/32', '10.1.2.0/24', '::/0'],
    requestValues: ['10.1.2.3', '192.168.1.50', '203.0.113.7', '2001:db8::1', '8.8.8.8', '2001:db9::1', 'not-an-ip'],
  },
  {
    key: 'aws:SecureTransport',
    operators: withIfExists(['Bool']),
    values: ['true', 'false', true, false],
    requestValues: ['true', 'false', 'TRUE', 'maybe'],
  },
  {
    key: 'aws:CurrentTime',
    operators: withIfExists(['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals']),
    values: ['2024-01-01T00:00:00Z', '2024-06-01T00:00:00Z', '2025-01-01T00:00:00Z', '2024-06-01T02:00:00+02:00'],
    requestValues: ['2023-12-31T23:59:59Z', '2024-06-01T00:00:00Z', '2024-07-15T12:00:00Z', '2026-01-01T00:00:00Z'],
  },
  {
    key: 'aws:username',
    operators: withIfExists(STRING_OPS),
    values: ['alice', 'bob', 'Alice', 'a*', '?ob', '*'],
    requestValues: ['alice', 'bob', 'Alice', 'carol'],
  },
  {
    key: 's3:prefix',
    operators: withIfExists(STRING_OPS),
    values: ['', 'home/', 'home/${aws:username}/*', 'home/*', 'public/*', '${aws:username}', 'home/${aws:username}/'],
    negatedValues: ['', 'home/', 'home/*', 'public/*', 'home/alice/'],
    requestValues: ['', 'home/alice/', 'home/bob/x', 'public/', 'home/'],
  },
  {
    key: 's3:max-keys',
    operators: withIfExists(['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals']),
    values: ['10', '100', '1000', 10],
    requestValues: ['5', '10', '100', '5000', 'abc'],
  },
  {
    key: 's3:ExistingObjectTag/color',
    operators: withIfExists(STRING_OPS),
    values: ['red', 'blue', 'r*', 'RED'],
    requestValues: ['red', 'blue', 'green', 'Red'],
  },
  {
    key: 'aws:TagKeys',
    operators: [
      'ForAnyValue:StringEquals', 'ForAllValues:StringEquals', 'ForAnyValue:StringLike', 'ForAllValues:StringLike', 'ForAllValues:StringNotEquals',
      'ForAnyValue:StringNotEquals', 'ForAllValues:StringEqualsIfExists', 'ForAnyValue:StringEqualsIgnoreCase', 'StringEquals', 'StringNotEquals',
    ],
    values: ['color', 'size', 'env*', 'Color'],
    requestValues: [[], ['color'], ['color', 'size'], ['owner'], ['color', 'owner'], 'color'],
  },
  {
    key: 'aws:PrincipalArn',
    operators: ['ArnLike', 'ArnEquals', 'ArnNotLike', 'ArnNotEquals', 'ArnLikeIfExists', 'ArnNotLikeIfExists'],
    values: [`arn:aws:iam::${ACCOUNT}:user/*`, 'arn:aws:iam::*:user/alice', ROOT, 'arn:aws:iam::444455556666:*', `arn:aws:iam::${ACCOUNT}:user/?ob`],
    requestValues: [ALICE, BOB, ROOT, 'alice'],
  },
];

const NEGATED = /Not/;

const clause: fc.Arbitrary<{ op: string; key: string; values: Json | Json[] }> = fc.oneof(
  ...KEYS.map((spec) =>
    fc.constantFrom(...spec.operators).chain((op) => {
      const pool = NEGATED.test(op) && spec.negatedValues ? spec.negatedValues : spec.values;
      return oneOrList(fc.constantFrom(...pool)).map((values) => ({ op, key: spec.key, values }));
    }),
  ),
  fc.record({ op: fc.constant('Null'), key: fc.constantFrom(...KEYS.map((k) => k.key)), values: fc.constantFrom<Json>('true', 'false') }),
);

const conditionBlock: fc.Arbitrary<Record<string, Json> | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  {
    arbitrary: fc.array(clause, { minLength: 1, maxLength: 2 }).map((clauses) => {
      const block: Record<string, Record<string, Json>> = {};
      for (const c of clauses) (block[c.op] ??= {})[c.key] = c.values;
      return block;
    }),
    weight: 2,
  },
);

function statement(kind: 'identity' | 'resource'): fc.Arbitrary<Record<string, Json>> {
  return fc
    .record({
      allow: fc.boolean().chain((b) => (b ? fc.constant(true) : fc.boolean())), // about 3 Allows to 1 Deny
      action: oneOrList(policyAction),
      notAction: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
      resource: oneOrList(policyResource),
      notResourceList: oneOrList(policyNotResource),
      notResource: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      principal: principalElement,
      notPrincipal: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
      condition: conditionBlock,
    })
    .map((s) => {
      const out: Record<string, Json> = { Effect: s.allow ? 'Allow' : 'Deny' };
      if (kind === 'resource') out[s.notPrincipal ? 'NotPrincipal' : 'Principal'] = s.principal;
      out[s.notAction ? 'NotAction' : 'Action'] = s.action;
      if (s.notResource) out.NotResource = s.notResourceList;
      else out.Resource = s.resource;
      if (s.condition !== undefined) out.Condition = s.condition;
      return out;
    });
}

const doc = (kind: 'identity' | 'resource'): fc.Arbitrary<Doc> =>
  fc.array(statement(kind), { minLength: 2, maxLength: 5 }).map((Statement) => ({ Version: '2012-10-17', Statement }));

type RequestContext = Record<string, string | string[]>;

const requestContext: fc.Arbitrary<RequestContext> = fc
  .tuple(...KEYS.map((spec) => fc.option(fc.constantFrom(...spec.requestValues), { nil: undefined, freq: 3 })))
  .map((values) => {
    const ctx: RequestContext = {};
    KEYS.forEach((spec, i) => {
      const v = values[i];
      if (v !== undefined) ctx[spec.key] = v;
    });
    return ctx;
  });

/** A generated scenario in the oracle's terms (policy JSON, AWS-cased context keys). */
export interface Scenario {
  principal: string | null;
  action: string;
  resource: string;
  context: RequestContext;
  identity: Doc[];
  resourcePolicies: Doc[];
  limit: Doc[] | null;
}

/** minPolicies: the fewest identity policies and bucket policies to generate. */
export function scenario(minPolicies = 0): fc.Arbitrary<Scenario> {
  return fc
    .record({
      principal: fc.constantFrom<string | null>(ALICE, ALICE, BOB, BOB, ROOT, null),
      action: requestAction,
      resource: requestResource,
      context: requestContext,
      identity: fc.array(doc('identity'), { minLength: minPolicies, maxLength: 3 }),
      resourcePolicies: fc.array(doc('resource'), { minLength: minPolicies, maxLength: 2 }),
      limit: fc.option(fc.array(doc('identity'), { minLength: 1, maxLength: 2 }), { nil: null, freq: 2 }),
    })
    .map((s) => {
      // Roots and anonymous callers have no narrowing sets here; anonymous ones no identity policies.
      const limit = s.principal === null || s.principal === ROOT ? null : s.limit;
      const identity = s.principal === null ? [] : s.identity;
      let resourcePolicies = s.resourcePolicies;
      if (limit !== null) {
        resourcePolicies = resourcePolicies
          .map((d) => ({ ...d, Statement: d.Statement.filter((st) => !(st.Effect === 'Deny' && st.NotPrincipal !== undefined)) }))
          .filter((d) => d.Statement.length > 0);
      }
      return { ...s, limit, identity, resourcePolicies };
    });
}

export function accessRequest(s: Scenario): AccessRequest {
  const context: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(s.context)) context[normalizeContextKey(k)] = v;
  return { action: s.action, resource: s.resource, principal: s.principal, context };
}

const parseAll = (docs: readonly Doc[], kind: 'identity' | 'resource'): Policy[] => docs.map((d) => parsePolicy(JSON.stringify(d), kind));

export function policySets(s: Scenario): PolicySets {
  return {
    identity: parseAll(s.identity, 'identity'),
    resource: parseAll(s.resourcePolicies, 'resource'),
    limits: s.limit === null ? [] : [parseAll(s.limit, 'identity')],
  };
}

/**
 * A resource policy as the oracle takes it. runUnsafeSimulation loads a plain resource policy
 * document without metadata and then reads the policy's name from it; a document wrapped as
 * already validated (iam-policy's ValidatedPolicy shape) carries its metadata along.
 */
export function oracleResourcePolicy(docs: readonly Doc[]): unknown {
  const statements = docs.flatMap((d) => d.Statement);
  if (statements.length === 0) return undefined;
  return { __validated: true, policyDocument: { Version: '2012-10-17', Statement: statements }, metadata: { name: 'bucket-policy' }, errors: [] };
}

/** The oracle's decision. Its single resource policy holds the statements of all ours (a set of policies is the union of their statements). */
export function oracleDecision(s: Scenario): Decision {
  const sim: Simulation = {
    request: {
      principal: s.principal ?? anonymousPrincipal,
      action: s.action,
      resource: { resource: s.resource, accountId: ACCOUNT },
      contextVariables: s.context,
    },
    identityPolicies: s.identity.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: oracleResourcePolicy(s.resourcePolicies),
    permissionBoundaryPolicies: s.limit?.map((policy, i) => ({ name: `limit-${i}`, policy })),
  };
  const result = runUnsafeSimulation(sim, {});
  if (result === 'Allowed') return { allowed: true };
  return { allowed: false, explicit: result === 'ExplicitlyDenied' };
}
