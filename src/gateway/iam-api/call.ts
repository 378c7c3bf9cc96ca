// One call of the IAM or STS query API: its parameters, who makes it, and the checks every
// action shares (required parameters, the caller's own user, authorization on a resource ARN).
import { IamError } from '../../iam/records.js';
import type { IamStore } from '../../iam/store.js';
import type { Identity } from '../auth.js';
import type { XmlChild } from '../xml.js';

export interface QueryCall {
  params: ReadonlyMap<string, string>;
  store: IamStore;
  identity: Identity;
  /** Throws AccessDenied unless the caller may do `action` on `resource` (with extra condition
   * keys the action brings, e.g. iam:PolicyARN). */
  authorize(action: string, resource: string, context?: Record<string, string>): Promise<void>;
}

export type QueryHandler = (c: QueryCall) => Promise<XmlChild[]>;

export function need(c: QueryCall, name: string): string {
  const v = c.params.get(name);
  if (v === undefined || v === '') {
    throw new IamError('ValidationError', `1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

/** UserName, or the caller's own user when it is left out (as IAM does for self-service calls). */
export function userNameOrSelf(c: QueryCall): string {
  const given = c.params.get('UserName');
  if (given !== undefined && given !== '') return given;
  if (c.identity.user !== null) return c.identity.user;
  throw new IamError('ValidationError', 'The root credentials have no IAM user: name one with UserName (root keys come from the gateway\'s configuration).');
}

export function optionalInt(c: QueryCall, name: string, min: number, max: number): number | undefined {
  const raw = c.params.get(name);
  if (raw === undefined) return undefined;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new IamError('ValidationError', `${name} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 20)}".`);
  return n;
}

/** The name and path in a policy ARN of this account ("arn:aws:iam::ACCOUNT:policy/path/NAME"). */
export function policyArnParts(c: QueryCall, arn: string): { name: string; path: string } {
  const m = /^arn:aws:iam::(\d{12}|aws):policy(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,128})$/.exec(arn);
  if (!m) throw new IamError('InvalidInput', `ARN ${arn.slice(0, 200)} is not a valid policy ARN.`);
  if (m[1] !== c.store.account) throw new IamError('NoSuchEntity', `Policy ${arn.slice(0, 200)} does not exist or is not attachable.`, 404);
  return { name: m[3]!, path: m[2]! };
}
