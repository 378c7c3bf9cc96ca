// The Action and NotAction elements: "*" or "service:action", where the service prefix is compared
// without regard to case and the action name may hold the wildcards * and ? (also case-insensitive,
// as AWS action names are). A list compiles to one case-insensitive regular expression.
import { escapeRegex } from './glob.js';
import { PolicyError } from './policy-error.js';

const SERVICE_ACTION = /^([A-Za-z0-9-]+):(\S+)$/;

function actionSource(action: string): string {
  if (action === '*') return '[^]*';
  const m = SERVICE_ACTION.exec(action);
  // The message IAM itself gives for an action without a vendor prefix.
  if (!m) throw new PolicyError(`action "${action}": actions must be "*" or prefaced by a vendor, e.g., iam, sdb, ec2, etc. ("s3:GetObject")`);
  const name = m[2].split('').map((c) => (c === '*' ? '[^]*' : c === '?' ? '[^]' : escapeRegex(c))).join('');
  return `${escapeRegex(m[1])}:${name}`;
}

export function compileActions(actions: readonly string[]): RegExp {
  return new RegExp(`^(?:${actions.map(actionSource).join('|')})$`, 'i');
}
