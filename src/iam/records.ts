// What the identity store keeps, one JSON record per entity, and the rules for names and
// documents that AWS IAM states (so that what awscli accepts here, AWS would accept too).
export type KeyStatus = 'Active' | 'Inactive';

export interface AccessKeyRecord {
  accessKey: string;
  /** Sealed (see sealing.ts), never plaintext. */
  sealedSecret: string;
  status: KeyStatus;
  created: number;
}

export interface UserRecord {
  name: string;
  path: string;
  /** AWS's unique id ("AIDA..."): what aws:userid is. */
  id: string;
  created: number;
  enabled: boolean;
  groups: string[];
  /** Names of managed policies attached. */
  attached: string[];
  /** Inline policies: name → document. */
  inline: Record<string, string>;
  keys: AccessKeyRecord[];
}

export interface GroupRecord {
  name: string;
  path: string;
  id: string;
  created: number;
  attached: string[];
  inline: Record<string, string>;
}

export interface ManagedPolicyRecord {
  name: string;
  path: string;
  id: string;
  description: string;
  document: string;
  created: number;
  updated: number;
}

/** An extra access key of a user, allowed at most what the user is, narrowed by its own policy. */
export interface ServiceAccountRecord {
  accessKey: string;
  sealedSecret: string;
  parent: string;
  description: string;
  /** Narrows the parent's permissions; absent: the parent's own. */
  policy?: string;
  status: KeyStatus;
  created: number;
}

export type EntityKind = 'user' | 'group' | 'policy' | 'svcacct';

/** IAM's error vocabulary; `status` is the HTTP status the query API answers with. */
export class IamError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export const noSuch = (what: string, name: string): IamError => new IamError('NoSuchEntity', `The ${what} with name ${name} cannot be found.`, 404);

const NAME = /^[\w+=,.@-]+$/;
const NAME_MAX: Record<Exclude<EntityKind, 'svcacct'>, number> = { user: 64, group: 128, policy: 128 };

export function checkName(kind: Exclude<EntityKind, 'svcacct'>, name: unknown, field = `${kind[0]!.toUpperCase()}${kind.slice(1)}Name`): string {
  const max = NAME_MAX[kind];
  if (typeof name !== 'string' || name.length < 1 || name.length > max || !NAME.test(name)) {
    throw new IamError('ValidationError', `${field} must be 1 to ${max} characters of letters, digits and _+=,.@- (got ${JSON.stringify(String(name).slice(0, 80))}).`);
  }
  return name;
}

export function checkPath(path: unknown): string {
  if (path === undefined || path === '') return '/';
  if (typeof path !== 'string' || path.length > 512 || !/^\/([\x21-\x7e]*\/)?$/.test(path)) {
    throw new IamError('ValidationError', `Path must begin and end with "/" and hold printable ASCII only (got ${JSON.stringify(String(path).slice(0, 80))}).`);
  }
  return path;
}

/** AWS's size limits for policy documents (characters, whitespace included). */
export const DOCUMENT_LIMITS = { managed: 6144, userInline: 2048, groupInline: 5120, session: 2048, serviceAccount: 2048 } as const;

export function checkDocumentSize(doc: string, limit: number, what: string): void {
  if (doc.length > limit) throw new IamError('LimitExceeded', `The ${what} is ${doc.length} characters; the limit is ${limit}.`, 409);
}

/** Lookups are by lowercased name: IAM names differ by more than case. */
export const nameKey = (name: string): string => name.toLowerCase();
