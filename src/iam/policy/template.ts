// A policy string cut into what it is made of: literal text, the wildcards * and ?, and policy
// variables ${key} filled from the request context at evaluation time. Which of these exist
// depends on where the string is (StringEquals has no wildcards) and on the document's Version
// (2008-10-17 has no variables: "${...}" is literal text there).
import { normalizeContextKey, singleContextValue, type RequestContext } from './context-key.js';
import { PolicyError } from './policy-error.js';

export type Token =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'anyChars' }
  | { readonly kind: 'oneChar' }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

export interface TemplateSyntax {
  readonly wildcards: boolean;
  readonly variables: boolean;
}

const ANY_CHARS: Token = { kind: 'anyChars' };
const ONE_CHAR: Token = { kind: 'oneChar' };

// ${*}, ${?} and ${$} are how a policy says a literal *, ? or $.
const ESCAPED = new Set(['*', '?', '$']);

// The documented default-value form: ${aws:username, 'guest'} (a comma, a space, a quoted value).
const WITH_DEFAULT = /^(.*?), '(.*)'$/s;

function variableToken(inner: string): Token {
  const d = WITH_DEFAULT.exec(inner);
  const name = (d ? d[1] : inner).trim();
  if (name === '') throw new PolicyError(`empty policy variable "\${${inner}}"`);
  return { kind: 'variable', key: normalizeContextKey(name), fallback: d ? d[2] : undefined };
}

export function parseTemplate(value: string, syntax: TemplateSyntax): Token[] {
  const out: Token[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') out.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (syntax.wildcards && (c === '*' || c === '?')) {
      flush();
      out.push(c === '*' ? ANY_CHARS : ONE_CHAR);
      continue;
    }
    if (syntax.variables && c === '$' && value[i + 1] === '{') {
      const close = value.indexOf('}', i + 2);
      if (close >= 0) {
        const inner = value.slice(i + 2, close);
        if (ESCAPED.has(inner)) {
          text += inner;
        } else {
          flush();
          out.push(variableToken(inner));
        }
        i = close;
        continue;
      }
    }
    text += c;
  }
  flush();
  return out;
}

export function hasVariables(tokens: readonly Token[]): boolean {
  return tokens.some((t) => t.kind === 'variable');
}

/** A variable's value for this request: the context's single value, else the default, else none. */
export function variableValue(token: Token & { kind: 'variable' }, ctx: RequestContext): string | undefined {
  return singleContextValue(ctx, token.key) ?? token.fallback;
}

/** The text of a wildcard-free template for this request, or undefined if a variable has no value. */
export function templateText(tokens: readonly Token[], ctx: RequestContext): string | undefined {
  let s = '';
  for (const t of tokens) {
    if (t.kind === 'text') s += t.text;
    else if (t.kind === 'variable') {
      const v = variableValue(t, ctx);
      if (v === undefined) return undefined;
      s += v;
    }
  }
  return s;
}

/** The text of a template without variables or wildcards. */
export function staticText(tokens: readonly Token[]): string {
  return tokens.map((t) => (t.kind === 'text' ? t.text : '')).join('');
}
