// The compiled form of a policy document: what evaluation walks on every request. Callers only
// ever see it as a Policy.
import type { ArnPatterns } from './arn-pattern.js';
import type { Condition } from './condition.js';
import type { Policy, PolicyKind } from './document.js';
import type { Principals } from './principal.js';

export interface Statement {
  readonly sid: string | undefined;
  readonly allow: boolean;
  readonly actions: RegExp;
  readonly notAction: boolean;
  /** 'all' for a list holding "*". */
  readonly resources: ArnPatterns | 'all';
  readonly notResource: boolean;
  /** null in identity policies, which apply to whoever holds them. */
  readonly principals: Principals | null;
  readonly notPrincipal: boolean;
  readonly conditions: readonly Condition[];
}

// Requests name a few dozen distinct actions, so remembering which statements each one reaches
// spares evaluation most action matching. Bounded in case callers send arbitrary action names.
const MAX_REMEMBERED_ACTIONS = 512;

export class CompiledPolicy implements Policy {
  readonly #byAction = new Map<string, readonly Statement[]>();

  constructor(
    readonly text: string,
    readonly kind: PolicyKind,
    readonly statements: readonly Statement[],
  ) {}

  /** The statements whose Action (or NotAction) element covers the action. */
  statementsFor(action: string): readonly Statement[] {
    let found = this.#byAction.get(action);
    if (found === undefined) {
      found = this.statements.filter((s) => s.actions.test(action) !== s.notAction);
      if (this.#byAction.size >= MAX_REMEMBERED_ACTIONS) this.#byAction.clear();
      this.#byAction.set(action, found);
    }
    return found;
  }
}

export function compiled(policy: Policy): CompiledPolicy {
  if (!(policy instanceof CompiledPolicy)) throw new TypeError('not a policy made by parsePolicy');
  return policy;
}
