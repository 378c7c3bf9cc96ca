// One statement of a policy document, checked the way IAM checks it and compiled.
import { compileActions } from './action-pattern.js';
import { ArnPatterns } from './arn-pattern.js';
import type { Statement } from './compiled-policy.js';
import { parseConditions } from './condition.js';
import type { PolicyKind } from './document.js';
import { at, PolicyError } from './policy-error.js';
import { parsePrincipals } from './principal.js';

const FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

function stringList(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) {
    throw new PolicyError('must be a string or a non-empty list of strings');
  }
  return list as string[];
}

/** The one element present of a pair such as Action/NotAction: [value, isNot], or undefined if neither is. */
function eitherOf(raw: Record<string, unknown>, name: string): [unknown, boolean] | undefined {
  const yes = raw[name];
  const no = raw[`Not${name}`];
  if (yes !== undefined && no !== undefined) throw new PolicyError(`has both ${name} and Not${name}`);
  if (yes !== undefined) return [yes, false];
  if (no !== undefined) return [no, true];
  return undefined;
}

function required(raw: Record<string, unknown>, name: string): [unknown, boolean] {
  const found = eitherOf(raw, name);
  if (found === undefined) throw new PolicyError(`has neither ${name} nor Not${name}`);
  return found;
}

export function parseStatement(raw: unknown, kind: PolicyKind, variables: boolean): Statement {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PolicyError('must be an object');
  const s = raw as Record<string, unknown>;
  for (const field of Object.keys(s)) {
    if (!FIELDS.has(field)) throw new PolicyError(`unknown field "${field}"`);
  }
  if (s.Sid !== undefined && typeof s.Sid !== 'string') throw new PolicyError('Sid must be a string');
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
    throw new PolicyError(s.Effect === undefined ? 'missing Effect' : `Effect must be "Allow" or "Deny", not ${JSON.stringify(s.Effect)}`);
  }
  const [actions, notAction] = required(s, 'Action');
  const [resources, notResource] = required(s, 'Resource');
  const principal = eitherOf(s, 'Principal');
  if (kind === 'identity' && principal !== undefined) throw new PolicyError('an identity policy cannot have Principal or NotPrincipal');
  if (kind === 'resource' && principal === undefined) throw new PolicyError('a bucket policy statement needs a Principal or NotPrincipal');
  const resourceList = at(notResource ? 'NotResource' : 'Resource', () => stringList(resources));
  return {
    sid: typeof s.Sid === 'string' ? s.Sid : undefined,
    allow: s.Effect === 'Allow',
    actions: at(notAction ? 'NotAction' : 'Action', () => compileActions(stringList(actions))),
    notAction,
    resources: at(notResource ? 'NotResource' : 'Resource', () =>
      resourceList.includes('*') ? 'all' : new ArnPatterns(resourceList, { wildcards: true, variables }, false),
    ),
    notResource,
    principals: principal === undefined ? null : at(principal[1] ? 'NotPrincipal' : 'Principal', () => parsePrincipals(principal[0])),
    notPrincipal: principal?.[1] ?? false,
    conditions: s.Condition === undefined ? [] : at('Condition', () => parseConditions(s.Condition, variables)),
  };
}
