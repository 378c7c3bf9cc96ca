// ARN patterns, for the Resource element and the Arn* condition operators. AWS checks each of an
// ARN's six colon-separated parts on its own: a wildcard in the partition, service, region or
// account never reaches into the next part, while one in the resource part (the rest of the ARN,
// colons included) may. The whole-value "*" of a Resource element is handled by its caller.
import type { RequestContext } from './context-key.js';
import { ANYWHERE, globSource, VariablePattern, WITHIN_ARN_PART, type VariableValues } from './glob.js';
import { PolicyError } from './policy-error.js';
import { hasVariables, parseTemplate, type TemplateSyntax, type Token } from './template.js';

const ARN_PARTS = 6;

/** Cuts a template into the six ARN parts at its first five colons (none of which can be inside a variable). */
function arnParts(tokens: readonly Token[]): Token[][] | undefined {
  const parts: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind !== 'text') {
      parts[parts.length - 1].push(t);
      continue;
    }
    let rest = t.text;
    let colon = rest.indexOf(':');
    while (colon >= 0 && parts.length < ARN_PARTS) {
      if (colon > 0) parts[parts.length - 1].push({ kind: 'text', text: rest.slice(0, colon) });
      parts.push([]);
      rest = rest.slice(colon + 1);
      colon = rest.indexOf(':');
    }
    if (rest !== '') parts[parts.length - 1].push({ kind: 'text', text: rest });
  }
  return parts.length === ARN_PARTS ? parts : undefined;
}

const NOTHING = '(?!)';

function partsSource(parts: readonly Token[][], values: VariableValues = []): string {
  let first = 0;
  return parts
    .map((p, i) => {
      const count = p.filter((t) => t.kind === 'variable').length;
      const leading = i < ARN_PARTS - 1;
      // A value with a colon cannot fill a part before the resource: parts are compared one by one.
      const fits = !leading || values.slice(first, first + count).every((v) => !v.includes(':'));
      const src = fits ? globSource(p, leading ? WITHIN_ARN_PART : ANYWHERE, values, first) : NOTHING;
      first += count;
      return src;
    })
    .join(':');
}

const SIX_PARTS = /^(?:[^:]*:){5}/;

export function looksLikeArn(value: string): boolean {
  return SIX_PARTS.test(value);
}

/** A list of ARN patterns: matched if any one matches. */
export class ArnPatterns {
  // Variable-free patterns share one alternation.
  readonly #fixed: RegExp | null;
  readonly #withVariables: readonly VariablePattern[];

  /**
   * variablesBeforeResource: whether policy variables may stand in the parts before the resource
   * (AWS allows that in Arn* condition values, not in the Resource element).
   */
  constructor(patterns: readonly string[], syntax: TemplateSyntax, variablesBeforeResource: boolean) {
    const fixed: string[] = [];
    const withVariables: VariablePattern[] = [];
    for (const p of patterns) {
      const tokens = parseTemplate(p, syntax);
      const parts = arnParts(tokens);
      if (parts === undefined) throw new PolicyError(`"${p}" is not an ARN (arn:partition:service:region:account:resource)`);
      if (!variablesBeforeResource && parts.slice(0, ARN_PARTS - 1).some(hasVariables)) {
        throw new PolicyError(`"${p}": policy variables may only stand in the resource part of an ARN, after the fifth colon`);
      }
      if (hasVariables(tokens)) withVariables.push(new VariablePattern(tokens, (values) => partsSource(parts, values)));
      else fixed.push(partsSource(parts));
    }
    this.#fixed = fixed.length > 0 ? new RegExp(`^(?:${fixed.join('|')})$`) : null;
    this.#withVariables = withVariables;
  }

  matches(arn: string, ctx: RequestContext): boolean {
    if (this.#fixed !== null && this.#fixed.test(arn)) return true;
    for (const p of this.#withVariables) {
      if (p.matches(arn, ctx)) return true;
    }
    return false;
  }
}
