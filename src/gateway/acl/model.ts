// Access control lists as S3 keeps them: an owner and grants of READ, WRITE, READ_ACP, WRITE_ACP
// or FULL_CONTROL to a canonical user or a group (everyone, any authenticated caller). Canned
// ACLs, x-amz-grant-* headers and AccessControlPolicy documents all become this one shape.
import { createHash } from 'node:crypto';
import type { Identity } from '../auth.js';
import { S3Error } from '../errors.js';
import { childText, childrenNamed, el, type XmlElement, type XmlNode } from '../xml.js';

export type Permission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL';
export const PERMISSIONS: readonly Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
const GROUPS = new Set([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY]);

export type Grantee = { id: string; name?: string } | { uri: string };

export interface Grant {
  grantee: Grantee;
  permission: Permission;
}

export interface Owner {
  id: string;
  name: string;
}

export interface Acl {
  owner: Owner;
  grants: Grant[];
}

/** A caller's canonical user id: stable for the account root and for each user (by unique id,
 * so a user made again under an old name is someone else). */
export function canonicalId(identity: Pick<Identity, 'kind' | 'userId'> & { user?: string | null }, account: string): string | null {
  if (identity.kind === 'anonymous') return null;
  const who = isAccountRoot(identity) ? `account ${account}` : `user ${identity.userId}`;
  let id = canonicalIds.get(who);
  if (id === undefined) {
    id = createHash('sha256').update(`strata canonical ${who}`).digest('hex');
    // Asked on every write and grant check: remembered (a few bytes per user of the volume).
    if (canonicalIds.size > 100_000) canonicalIds.clear();
    canonicalIds.set(who, id);
  }
  return id;
}

const canonicalIds = new Map<string, string>();

export function ownerOf(identity: Pick<Identity, 'kind' | 'userId' | 'user'>, account: string): Owner {
  return { id: canonicalId(identity, account) ?? '', name: identity.user ?? (isAccountRoot(identity) ? 'root' : 'anonymous') };
}

/** The account's root, or a session of it (a session without a user). */
function isAccountRoot(identity: Pick<Identity, 'kind' | 'userId'> & { user?: string | null }): boolean {
  return identity.kind === 'root' || identity.userId === null || (identity.kind === 'session' && !identity.user);
}

const full = (o: Owner): Grant => ({ grantee: { id: o.id, name: o.name }, permission: 'FULL_CONTROL' });

export const CANNED = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write'] as const;
export type Canned = (typeof CANNED)[number];

/** The ACL a canned name stands for; `bucketOwner` matters to the bucket-owner-* ones. */
export function cannedAcl(name: string, owner: Owner, bucketOwner: Owner): Acl {
  const grants: Grant[] = [full(owner)];
  switch (name as Canned) {
    case 'private': break;
    case 'public-read': grants.push({ grantee: { uri: ALL_USERS }, permission: 'READ' }); break;
    case 'public-read-write': grants.push({ grantee: { uri: ALL_USERS }, permission: 'READ' }, { grantee: { uri: ALL_USERS }, permission: 'WRITE' }); break;
    case 'authenticated-read': grants.push({ grantee: { uri: AUTHENTICATED_USERS }, permission: 'READ' }); break;
    case 'bucket-owner-read': if (bucketOwner.id !== owner.id) grants.push({ grantee: { id: bucketOwner.id, name: bucketOwner.name }, permission: 'READ' }); break;
    case 'bucket-owner-full-control': if (bucketOwner.id !== owner.id) grants.push(full(bucketOwner)); break;
    case 'log-delivery-write': grants.push({ grantee: { uri: LOG_DELIVERY }, permission: 'WRITE' }, { grantee: { uri: LOG_DELIVERY }, permission: 'READ_ACP' }); break;
    default: throw new S3Error('InvalidArgument', `"${name.slice(0, 40)}" is not a canned ACL (${CANNED.join(', ')}).`, { ArgumentName: 'x-amz-acl' });
  }
  return { owner, grants };
}

const GRANT_HEADERS: [string, Permission][] = [
  ['x-amz-grant-read', 'READ'], ['x-amz-grant-write', 'WRITE'], ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'], ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

/** Known canonical ids and their display names (see names.ts). */
export type CanonicalNames = ReadonlyMap<string, string>;

function grantee(kind: string, value: string, names: CanonicalNames): Grantee {
  if (kind === 'id') {
    const name = names.get(value);
    if (name === undefined) throw new S3Error('InvalidArgument', `Invalid id: no user has the canonical id "${value.slice(0, 80)}".`, { ArgumentName: 'CanonicalUser/ID', ArgumentValue: value.slice(0, 80) });
    return { id: value, name };
  }
  if (kind === 'uri') {
    if (!GROUPS.has(value)) throw new S3Error('InvalidArgument', `Unknown grantee group "${value.slice(0, 100)}".`);
    return { uri: value };
  }
  if (kind === 'emailaddress') throw new S3Error('UnresolvableGrantByEmailAddress', 'The e-mail address you provided does not match any account on record: users here have no e-mail addresses; grant by canonical id.');
  throw new S3Error('InvalidArgument', `A grantee is id="...", uri="..." or emailAddress="...", not ${kind.slice(0, 40)}.`);
}

/** x-amz-acl or x-amz-grant-* headers (not both, as S3 says); null when neither is there. */
export function aclFromHeaders(headers: Record<string, string | string[] | undefined>, owner: Owner, bucketOwner: Owner, names: CanonicalNames): Acl | null {
  const canned = headers['x-amz-acl'];
  const present = GRANT_HEADERS.filter(([h]) => headers[h] !== undefined);
  if (typeof canned === 'string' && present.length > 0) throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed.');
  if (typeof canned === 'string') return cannedAcl(canned, owner, bucketOwner);
  if (present.length === 0) return null;
  const grants: Grant[] = [];
  for (const [h, permission] of present) {
    for (const part of String(headers[h]).split(',')) {
      const m = /^\s*([A-Za-z]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
      if (!m) throw new S3Error('InvalidArgument', `${h} holds "${part.trim().slice(0, 80)}", not KIND="VALUE".`, { ArgumentName: h });
      grants.push({ grantee: grantee(m[1]!.toLowerCase(), m[2]!, names), permission });
    }
  }
  return { owner, grants };
}

/** An AccessControlPolicy document; its owner must be the resource's owner. */
export function aclFromXml(root: XmlNode, owner: Owner, names: CanonicalNames): Acl {
  const ownerNode = childrenNamed(root, 'Owner')[0];
  const ownerId = ownerNode ? childText(ownerNode, 'ID') : undefined;
  if (ownerId !== undefined && ownerId !== owner.id) throw new S3Error('AccessDenied', 'The ACL names another owner than the resource\'s.');
  const list = childrenNamed(root, 'AccessControlList')[0];
  if (!list) throw new S3Error('MalformedACLError', 'An AccessControlPolicy holds an <AccessControlList>.');
  const grants = childrenNamed(list, 'Grant').map((g): Grant => {
    const who = childrenNamed(g, 'Grantee')[0];
    const permission = childText(g, 'Permission')?.trim() as Permission | undefined;
    if (!who || !permission || !PERMISSIONS.includes(permission)) throw new S3Error('MalformedACLError', 'Every <Grant> needs a <Grantee> and a <Permission> of READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL.');
    const id = childText(who, 'ID');
    const uri = childText(who, 'URI');
    if (id !== undefined) return { grantee: grantee('id', id.trim(), names), permission };
    if (uri !== undefined) return { grantee: grantee('uri', uri.trim(), names), permission };
    if (childText(who, 'EmailAddress') !== undefined) return { grantee: grantee('emailaddress', '', names), permission };
    throw new S3Error('MalformedACLError', 'A <Grantee> names an <ID> or a <URI>.');
  });
  return { owner, grants };
}

export function aclToXml(acl: Acl): XmlElement {
  const xsi = { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance' };
  // Group grants first, then users, each in the order given (the order clients compare with).
  const grants = [...acl.grants.filter((g) => 'uri' in g.grantee), ...acl.grants.filter((g) => 'id' in g.grantee)];
  return el('AccessControlPolicy',
    el('Owner', el('ID', acl.owner.id), el('DisplayName', acl.owner.name)),
    el('AccessControlList', grants.map((g) => el('Grant',
      'id' in g.grantee
        ? { name: 'Grantee', attrs: { ...xsi, 'xsi:type': 'CanonicalUser' }, children: [el('ID', g.grantee.id), g.grantee.name !== undefined ? el('DisplayName', g.grantee.name) : null] }
        : { name: 'Grantee', attrs: { ...xsi, 'xsi:type': 'Group' }, children: [el('URI', g.grantee.uri)] },
      el('Permission', g.permission),
    ))),
  );
}

/** Does the ACL grant anything to everyone or to every authenticated caller? */
export function isPublicAcl(acl: Acl): boolean {
  return acl.grants.some((g) => 'uri' in g.grantee && (g.grantee.uri === ALL_USERS || g.grantee.uri === AUTHENTICATED_USERS));
}

/** Does the ACL give `permission` (or FULL_CONTROL) to this caller? Public grants are skipped
 * when the bucket ignores public ACLs. */
export function aclGrants(acl: Acl, permission: Permission, caller: string | null, ignorePublic: boolean): boolean {
  return acl.grants.some((g) => {
    if (g.permission !== permission && g.permission !== 'FULL_CONTROL') return false;
    if ('id' in g.grantee) return caller !== null && g.grantee.id === caller;
    if (ignorePublic) return false;
    if (g.grantee.uri === ALL_USERS) return true;
    return g.grantee.uri === AUTHENTICATED_USERS && caller !== null;
  });
}
