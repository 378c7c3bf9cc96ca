// The Condition element: {"<operator>": {"<key>": value or [values]}}. Every key of every
// operator must hold (AND); the values of one key are alternatives (OR).
//
// Absent keys: a condition on a key the request does not have is false, except that the negated
// operators (without a set operator), every ...IfExists form and ForAllValues hold; ForAnyValue
// needs a value to match; Null tests exactly that. A key given several values (an array) can only
// be tested through ForAnyValue/ForAllValues: AWS requires set operators for multivalued keys,
// and a plain operator, negated or not, never matches one.
import { contextValue, normalizeContextKey, type RequestContext } from './context-key.js';
import { OPERATORS, type ValueTest } from './condition-operators.js';
import { at, PolicyError } from './policy-error.js';

export type SetOperator = 'single' | 'anyValue' | 'allValues';

export interface Condition {
  readonly key: string;
  readonly set: SetOperator;
  readonly holdsWhenAbsent: boolean;
  /** For Null: whether the key is expected absent ("true") or present ("false"); either is allowed. */
  readonly nullExpects: readonly boolean[] | null;
  readonly test: ValueTest;
}

const SET_PREFIXES: Readonly<Record<string, SetOperator>> = { foranyvalue: 'anyValue', forallvalues: 'allValues' };
const IF_EXISTS = 'ifexists';

function conditionValues(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new PolicyError('needs at least one value');
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new PolicyError('values must be strings, numbers or booleans');
  });
}

function nullExpectations(values: readonly string[]): boolean[] {
  return values.map((v) => {
    const b = v.toLowerCase();
    if (b !== 'true' && b !== 'false') throw new PolicyError(`Null takes true or false, not "${v}"`);
    return b === 'true';
  });
}

const NEVER: ValueTest = () => false;

function parseOperator(name: string, keys: unknown, variables: boolean): Condition[] {
  let base = name;
  let set: SetOperator = 'single';
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const prefix = SET_PREFIXES[name.slice(0, colon).toLowerCase()];
    if (prefix === undefined) throw new PolicyError(`unknown set operator "${name.slice(0, colon)}" (ForAnyValue or ForAllValues)`);
    set = prefix;
    base = name.slice(colon + 1);
  }
  const ifExists = base.toLowerCase().endsWith(IF_EXISTS);
  if (ifExists) base = base.slice(0, -IF_EXISTS.length);
  const lower = base.toLowerCase();
  const isNull = lower === 'null';
  const operator = OPERATORS.get(lower);
  if (!isNull && operator === undefined) throw new PolicyError(`unknown condition operator "${name}"`);
  if (isNull && (ifExists || set !== 'single')) throw new PolicyError(`"${name}": Null takes neither IfExists nor a set operator`);
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw new PolicyError(`"${name}" must map condition keys to values`);
  const entries = Object.entries(keys);
  if (entries.length === 0) throw new PolicyError(`"${name}" has no condition key`);
  return entries.map(([key, raw]) =>
    at(`"${name}" "${key}"`, () => {
      if (key === '') throw new PolicyError('empty condition key');
      const values = conditionValues(raw);
      return {
        key: normalizeContextKey(key),
        set,
        holdsWhenAbsent: ifExists || set === 'allValues' || (set === 'single' && (operator?.negated ?? false)),
        nullExpects: isNull ? nullExpectations(values) : null,
        test: operator ? operator.compile(values, variables) : NEVER,
      };
    }),
  );
}

export function parseConditions(element: unknown, variables: boolean): Condition[] {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    throw new PolicyError('must be an object such as {"StringEquals": {"aws:username": "alice"}}');
  }
  return Object.entries(element).flatMap(([name, keys]) => parseOperator(name, keys, variables));
}

export function conditionHolds(c: Condition, ctx: RequestContext): boolean {
  const value = contextValue(ctx, c.key);
  if (c.nullExpects !== null) return c.nullExpects.includes(value === undefined);
  if (value === undefined) return c.holdsWhenAbsent;
  if (typeof value === 'string') return c.test(value, ctx);
  if (c.set === 'single') return false;
  return c.set === 'anyValue' ? value.some((v) => c.test(v, ctx)) : value.every((v) => c.test(v, ctx));
}
