// Wildcard templates as regular expressions (V8 runs one regular expression faster than it
// compares a few strings by hand). A template without variables is compiled once, at parse time.
// One with variables is compiled for each distinct set of variable values it meets, with the
// values taken literally (a user named "a*" is no wildcard), and the result is remembered.
import type { RequestContext } from './context-key.js';
import { variableValue, type Token } from './template.js';

/** What a wildcard may match: any characters, or (in the leading parts of an ARN) none that are ':'. */
export interface WildcardSpan {
  readonly anyChars: string;
  readonly oneChar: string;
}

export const ANYWHERE: WildcardSpan = { anyChars: '[^]*', oneChar: '[^]' };
export const WITHIN_ARN_PART: WildcardSpan = { anyChars: '[^:]*', oneChar: '[^:]' };

type VariableToken = Token & { kind: 'variable' };
/** The values of a template's variables for one request, in the order they appear. */
export type VariableValues = readonly string[];

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|]/g;

export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

/** The regular expression source of a template; its variables (if any) take the given values in order. */
export function globSource(tokens: readonly Token[], span: WildcardSpan, values: VariableValues = [], first = 0): string {
  let src = '';
  let v = first;
  for (const t of tokens) {
    if (t.kind === 'text') src += escapeRegex(t.text);
    else if (t.kind === 'anyChars') src += span.anyChars;
    else if (t.kind === 'oneChar') src += span.oneChar;
    else src += escapeRegex(values[v++]);
  }
  return src;
}

const MAX_REMEMBERED_VALUES = 256;

/** A whole-value pattern holding policy variables. */
export class VariablePattern {
  readonly #variables: readonly VariableToken[];
  readonly #compile: (values: VariableValues) => RegExp;
  readonly #byValues = new Map<string, RegExp>();

  /** source: the pattern's regular expression source (without anchors) once its variables have values. */
  constructor(tokens: readonly Token[], source: (values: VariableValues) => string) {
    this.#variables = tokens.filter((t): t is VariableToken => t.kind === 'variable');
    this.#compile = (values) => new RegExp(`^(?:${source(values)})$`);
  }

  /** False when a variable has no value: AWS matches nothing against such a pattern. */
  matches(s: string, ctx: RequestContext): boolean {
    const vars = this.#variables;
    let key: string | undefined;
    let values: string[] | undefined;
    if (vars.length === 1) {
      key = variableValue(vars[0], ctx);
      if (key === undefined) return false;
    } else {
      values = [];
      for (const t of vars) {
        const v = variableValue(t, ctx);
        if (v === undefined) return false;
        values.push(v);
      }
      key = values.join('\0');
    }
    let re = this.#byValues.get(key);
    if (re === undefined) {
      re = this.#compile(values ?? [key]);
      if (this.#byValues.size >= MAX_REMEMBERED_VALUES) this.#byValues.clear();
      this.#byValues.set(key, re);
    }
    return re.test(s);
  }
}
