// The condition operators, each compiled from a condition's policy values into a test of one
// request value. The values are alternatives (OR). A negated operator (StringNotEquals,
// NotIpAddress, ...) holds when no value matches; a request value of the wrong type (not a
// number for Numeric*, not an address for IpAddress, ...) satisfies neither the operator nor its
// negation, as in AWS.
import { ArnPatterns, looksLikeArn } from './arn-pattern.js';
import type { RequestContext } from './context-key.js';
import { parseDate } from './date-value.js';
import { ANYWHERE, globSource, VariablePattern } from './glob.js';
import { parseIpRange, parseRequestAddress, rangeContains, type IpRange } from './ip-address.js';
import { parseNumber } from './numeric-value.js';
import { PolicyError } from './policy-error.js';
import { hasVariables, parseTemplate, staticText, templateText, type Token } from './template.js';

export type ValueTest = (value: string, ctx: RequestContext) => boolean;

export interface Operator {
  /** Holds when the key is absent (the negated operators do, per AWS). */
  readonly negated: boolean;
  compile(values: readonly string[], variables: boolean): ValueTest;
}

function negate(negated: boolean, anyMatches: ValueTest): ValueTest {
  return negated ? (v, ctx) => !anyMatches(v, ctx) : anyMatches;
}

// --- strings -----------------------------------------------------------------------------------

function equalsAny(values: readonly string[], variables: boolean, ignoreCase: boolean): ValueTest {
  const fold = ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
  const fixed = new Set<string>();
  const withVariables: Token[][] = [];
  for (const v of values) {
    const tokens = parseTemplate(v, { wildcards: false, variables });
    if (hasVariables(tokens)) withVariables.push(tokens);
    else fixed.add(fold(staticText(tokens)));
  }
  if (withVariables.length === 0) return (v) => fixed.has(fold(v));
  return (v, ctx) => {
    const folded = fold(v);
    if (fixed.has(folded)) return true;
    return withVariables.some((t) => {
      const text = templateText(t, ctx);
      return text !== undefined && fold(text) === folded;
    });
  };
}

function likeAny(values: readonly string[], variables: boolean): ValueTest {
  const fixed: string[] = [];
  const withVariables: VariablePattern[] = [];
  for (const v of values) {
    const tokens = parseTemplate(v, { wildcards: true, variables });
    if (hasVariables(tokens)) withVariables.push(new VariablePattern(tokens, (vals) => globSource(tokens, ANYWHERE, vals)));
    else fixed.push(globSource(tokens, ANYWHERE));
  }
  const re = fixed.length > 0 ? new RegExp(`^(?:${fixed.join('|')})$`) : null;
  return (v, ctx) => (re !== null && re.test(v)) || withVariables.some((p) => p.matches(v, ctx));
}

const stringOperator = (negated: boolean, build: (values: readonly string[], variables: boolean) => ValueTest): Operator => ({
  negated,
  compile: (values, variables) => negate(negated, build(values, variables)),
});

// --- typed values: the request value must parse for either the operator or its negation to hold --

function typedOperator<T>(
  negated: boolean,
  parsePolicyValue: (text: string) => T,
  parseRequestValue: (text: string) => T | undefined,
  matches: (request: T, policy: T) => boolean,
): Operator {
  return {
    negated,
    compile(values) {
      const parsed = values.map(parsePolicyValue);
      return (v) => {
        const r = parseRequestValue(v);
        if (r === undefined) return false;
        return parsed.some((p) => matches(r, p)) !== negated;
      };
    },
  };
}

function policyNumber(text: string): number {
  const n = parseNumber(text);
  if (n === undefined) throw new PolicyError(`"${text}" is not a number`);
  return n;
}

function policyDate(text: string): number {
  const d = parseDate(text);
  if (d === undefined) throw new PolicyError(`"${text}" is not a date (ISO 8601 such as 2024-06-01T00:00:00Z, or epoch seconds)`);
  return d;
}

function policyBool(text: string): string {
  const b = text.toLowerCase();
  if (b !== 'true' && b !== 'false') throw new PolicyError(`"${text}" is not true or false`);
  return b;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function policyBinary(text: string): string {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new PolicyError(`"${text}" is not base64`);
  return text;
}

function requestBool(text: string): string | undefined {
  const b = text.toLowerCase();
  return b === 'true' || b === 'false' ? b : undefined;
}

const numeric = (negated: boolean, matches: (r: number, p: number) => boolean): Operator =>
  typedOperator(negated, policyNumber, parseNumber, matches);
const date = (negated: boolean, matches: (r: number, p: number) => boolean): Operator =>
  typedOperator(negated, policyDate, parseDate, matches);

// --- addresses and ARNs --------------------------------------------------------------------------

function ipOperator(negated: boolean): Operator {
  return {
    negated,
    compile(values) {
      const ranges: IpRange[] = values.map((text) => {
        const r = parseIpRange(text);
        if (r === undefined) throw new PolicyError(`"${text}" is not an IP address or CIDR range`);
        return r;
      });
      return (v) => {
        const { family, words } = parseRequestAddress(v);
        if (family === 0) return false;
        return ranges.some((r) => rangeContains(r, family, words)) !== negated;
      };
    },
  };
}

function arnOperator(negated: boolean): Operator {
  return {
    negated,
    compile(values, variables) {
      const patterns = new ArnPatterns(values, { wildcards: true, variables }, true);
      return (v, ctx) => looksLikeArn(v) && patterns.matches(v, ctx) !== negated;
    },
  };
}

/** By lowercased name (AWS reads operator names without regard to case). Null is handled by the condition itself. */
export const OPERATORS: ReadonlyMap<string, Operator> = new Map<string, Operator>([
  ['stringequals', stringOperator(false, (vs, vars) => equalsAny(vs, vars, false))],
  ['stringnotequals', stringOperator(true, (vs, vars) => equalsAny(vs, vars, false))],
  ['stringequalsignorecase', stringOperator(false, (vs, vars) => equalsAny(vs, vars, true))],
  ['stringnotequalsignorecase', stringOperator(true, (vs, vars) => equalsAny(vs, vars, true))],
  ['stringlike', stringOperator(false, likeAny)],
  ['stringnotlike', stringOperator(true, likeAny)],
  ['numericequals', numeric(false, (r, p) => r === p)],
  ['numericnotequals', numeric(true, (r, p) => r === p)],
  ['numericlessthan', numeric(false, (r, p) => r < p)],
  ['numericlessthanequals', numeric(false, (r, p) => r <= p)],
  ['numericgreaterthan', numeric(false, (r, p) => r > p)],
  ['numericgreaterthanequals', numeric(false, (r, p) => r >= p)],
  ['dateequals', date(false, (r, p) => r === p)],
  ['datenotequals', date(true, (r, p) => r === p)],
  ['datelessthan', date(false, (r, p) => r < p)],
  ['datelessthanequals', date(false, (r, p) => r <= p)],
  ['dategreaterthan', date(false, (r, p) => r > p)],
  ['dategreaterthanequals', date(false, (r, p) => r >= p)],
  ['bool', typedOperator(false, policyBool, requestBool, (r, p) => r === p)],
  ['binaryequals', typedOperator(false, policyBinary, (r: string) => r, (r, p) => r === p)],
  ['ipaddress', ipOperator(false)],
  ['notipaddress', ipOperator(true)],
  ['arnequals', arnOperator(false)],
  ['arnlike', arnOperator(false)],
  ['arnnotequals', arnOperator(true)],
  ['arnnotlike', arnOperator(true)],
]);
