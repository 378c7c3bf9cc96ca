// The IAM actions the gateway serves: users and their access keys, groups and membership,
// managed policies and their attachment, and inline policies of users and groups.
import { IamError, nameKey } from '../../iam/records.js';
import { el, type XmlChild } from '../xml.js';
import { isoTime } from '../respond.js';
import { need, optionalInt, policyArnParts, userNameOrSelf, type QueryCall, type QueryHandler } from './call.js';
import { attachments, encodeDocument, groupXml, members, policyXml, userXml } from './shapes.js';

/**
 * The ARN an action on a named user or group is authorized against: the stored entity's own
 * (its spelling and path), so a policy naming it matches however the request spells the name;
 * a name that names nothing is judged as the request spells it, at path "/", and only then
 * reported missing, so that existence is not revealed to those who may not ask.
 */
async function entityArn(c: QueryCall, kind: 'user' | 'group', name: string, path = '/'): Promise<string> {
  const snap = await c.store.snapshot();
  const rec = kind === 'user' ? snap.users.get(nameKey(name)) : snap.groups.get(nameKey(name));
  return rec ? c.store.arn(kind, rec) : `arn:aws:iam::${c.store.account}:${kind}${path}${name}`;
}

const wildcardArn = (c: QueryCall, kind: 'user' | 'group' | 'policy') => `arn:aws:iam::${c.store.account}:${kind}/*`;

async function userNamed(c: QueryCall, name: string) {
  const u = (await c.store.snapshot()).users.get(nameKey(name));
  if (!u) throw new IamError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404);
  return u;
}

async function groupNamed(c: QueryCall, name: string) {
  const g = (await c.store.snapshot()).groups.get(nameKey(name));
  if (!g) throw new IamError('NoSuchEntity', `The group with name ${name} cannot be found.`, 404);
  return g;
}

/** The managed policy an ARN names: its name and path must both match the stored policy's. */
async function policyNamed(c: QueryCall, arn: string) {
  const { name, path } = policyArnParts(c, arn);
  const p = (await c.store.snapshot()).policies.get(nameKey(name));
  if (!p || p.path !== path || p.name !== name) throw new IamError('NoSuchEntity', `Policy ${arn.slice(0, 200)} does not exist or is not attachable.`, 404);
  return p;
}

/** A policy ARN's entity, authorized first (a missing one is judged by the ARN as given). */
async function authorizedPolicy(c: QueryCall, action: string, arn: string) {
  await c.authorize(action, arn);
  return policyNamed(c, arn);
}

/** A page of a sorted listing: Marker is the last name of the previous page. */
function page<T>(c: QueryCall, items: T[], nameOf: (t: T) => string): { items: T[]; tail: XmlChild[] } {
  const max = optionalInt(c, 'MaxItems', 1, 1000) ?? 100;
  const marker = c.params.get('Marker');
  const sorted = [...items].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  const from = marker === undefined ? sorted : sorted.filter((t) => nameOf(t) > Buffer.from(marker, 'base64url').toString());
  const shown = from.slice(0, max);
  const truncated = from.length > shown.length;
  return {
    items: shown,
    tail: [el('IsTruncated', truncated), truncated ? el('Marker', Buffer.from(nameOf(shown[shown.length - 1]!)).toString('base64url')) : null],
  };
}

function prefixed<T extends { path: string }>(c: QueryCall, items: Iterable<T>): T[] {
  const prefix = c.params.get('PathPrefix') ?? '/';
  return [...items].filter((i) => i.path.startsWith(prefix));
}

const inlineActions = (kind: 'user' | 'group'): Record<string, QueryHandler> => {
  const K = kind === 'user' ? 'User' : 'Group';
  const target = (c: QueryCall) => need(c, `${K}Name`);
  const find = (c: QueryCall, name: string) => (kind === 'user' ? userNamed(c, name) : groupNamed(c, name));
  return {
    [`Put${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Put${K}Policy`, await entityArn(c, kind, name));
      await c.store.setInline(kind, name, need(c, 'PolicyName'), need(c, 'PolicyDocument'));
      return [];
    },
    [`Get${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Get${K}Policy`, await entityArn(c, kind, name));
      const holder = await find(c, name);
      const policy = need(c, 'PolicyName');
      const doc = Object.hasOwn(holder.inline, policy) ? holder.inline[policy] : undefined;
      if (doc === undefined) throw new IamError('NoSuchEntity', `The ${kind} policy with name ${policy} cannot be found.`, 404);
      return [el(`${K}Name`, holder.name), el('PolicyName', policy), el('PolicyDocument', encodeDocument(doc))];
    },
    [`Delete${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Delete${K}Policy`, await entityArn(c, kind, name));
      await c.store.setInline(kind, name, need(c, 'PolicyName'), null);
      return [];
    },
    [`List${K}Policies`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:List${K}Policies`, await entityArn(c, kind, name));
      const holder = await find(c, name);
      const p = page(c, Object.keys(holder.inline), (n) => n);
      return [el('PolicyNames', p.items.map((n) => el('member', n))), ...p.tail];
    },
    [`Attach${K}Policy`]: async (c) => {
      const name = target(c);
      const policyArn = need(c, 'PolicyArn');
      await c.authorize(`iam:Attach${K}Policy`, await entityArn(c, kind, name), { 'iam:policyarn': policyArn });
      await c.store.setAttached(kind, name, (await policyNamed(c, policyArn)).name, true);
      return [];
    },
    [`Detach${K}Policy`]: async (c) => {
      const name = target(c);
      const policyArn = need(c, 'PolicyArn');
      await c.authorize(`iam:Detach${K}Policy`, await entityArn(c, kind, name), { 'iam:policyarn': policyArn });
      await c.store.setAttached(kind, name, policyArnParts(c, policyArn).name, false);
      return [];
    },
    [`ListAttached${K}Policies`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:ListAttached${K}Policies`, await entityArn(c, kind, name));
      const holder = await find(c, name);
      const snap = await c.store.snapshot();
      const p = page(c, holder.attached, (n) => n);
      return [el('AttachedPolicies', p.items.map((n) => {
        const rec = snap.policies.get(nameKey(n));
        return el('member', el('PolicyName', n), el('PolicyArn', rec ? c.store.arn('policy', rec) : `arn:aws:iam::${c.store.account}:policy/${n}`));
      })), ...p.tail];
    },
  };
};

export const IAM_ACTIONS: Record<string, QueryHandler> = {
  async CreateUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:CreateUser', await entityArn(c, 'user', name, c.params.get('Path') || '/'));
    return [userXml(c.store, await c.store.createUser(name, c.params.get('Path')))];
  },
  async GetUser(c) {
    // The account's root asking about itself: AWS answers with the root user.
    if (!c.params.get('UserName') && c.identity.kind === 'root') {
      return [el('User', el('UserId', c.store.account), el('Arn', c.store.rootArn), el('CreateDate', isoTime(0)))];
    }
    const name = userNameOrSelf(c);
    await c.authorize('iam:GetUser', await entityArn(c, 'user', name));
    return [userXml(c.store, await userNamed(c, name))];
  },
  async ListUsers(c) {
    await c.authorize('iam:ListUsers', wildcardArn(c, 'user'));
    const p = page(c, prefixed(c, (await c.store.snapshot()).users.values()), (u) => u.name);
    return [el('Users', members(p.items.map((u) => userXml(c.store, u)))), ...p.tail];
  },
  async DeleteUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:DeleteUser', await entityArn(c, 'user', name));
    await c.store.deleteUser(name);
    return [];
  },
  async CreateAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:CreateAccessKey', await entityArn(c, 'user', name));
    const k = await c.store.createAccessKey(name);
    return [el('AccessKey', el('UserName', (await userNamed(c, name)).name), el('AccessKeyId', k.accessKey), el('Status', k.status), el('SecretAccessKey', k.secretKey), el('CreateDate', isoTime(k.created)))];
  },
  async ListAccessKeys(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:ListAccessKeys', await entityArn(c, 'user', name));
    const u = await userNamed(c, name);
    return [el('AccessKeyMetadata', u.keys.map((k) => el('member', el('UserName', u.name), el('AccessKeyId', k.accessKey), el('Status', k.status), el('CreateDate', isoTime(k.created))))), el('IsTruncated', false)];
  },
  async UpdateAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:UpdateAccessKey', await entityArn(c, 'user', name));
    const status = need(c, 'Status');
    if (status !== 'Active' && status !== 'Inactive') throw new IamError('ValidationError', `Status must be Active or Inactive, got "${status.slice(0, 20)}".`);
    await c.store.setAccessKeyStatus(name, need(c, 'AccessKeyId'), status);
    return [];
  },
  async DeleteAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:DeleteAccessKey', await entityArn(c, 'user', name));
    await c.store.deleteAccessKey(name, need(c, 'AccessKeyId'));
    return [];
  },
  async CreateGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:CreateGroup', await entityArn(c, 'group', name, c.params.get('Path') || '/'));
    return [groupXml(c.store, await c.store.createGroup(name, c.params.get('Path')))];
  },
  async GetGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:GetGroup', await entityArn(c, 'group', name));
    const g = await groupNamed(c, name);
    const users = [...(await c.store.snapshot()).users.values()].filter((u) => u.groups.some((x) => nameKey(x) === nameKey(g.name)));
    const p = page(c, users, (u) => u.name);
    return [groupXml(c.store, g), el('Users', members(p.items.map((u) => userXml(c.store, u)))), ...p.tail];
  },
  async ListGroups(c) {
    await c.authorize('iam:ListGroups', wildcardArn(c, 'group'));
    const p = page(c, prefixed(c, (await c.store.snapshot()).groups.values()), (g) => g.name);
    return [el('Groups', members(p.items.map((g) => groupXml(c.store, g)))), ...p.tail];
  },
  async DeleteGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:DeleteGroup', await entityArn(c, 'group', name));
    await c.store.deleteGroup(name);
    return [];
  },
  async AddUserToGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:AddUserToGroup', await entityArn(c, 'group', name));
    await c.store.setMembership(need(c, 'UserName'), name, true);
    return [];
  },
  async RemoveUserFromGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:RemoveUserFromGroup', await entityArn(c, 'group', name));
    await c.store.setMembership(need(c, 'UserName'), name, false);
    return [];
  },
  async ListGroupsForUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:ListGroupsForUser', await entityArn(c, 'user', name));
    const u = await userNamed(c, name);
    const snap = await c.store.snapshot();
    const groups = u.groups.map((g) => snap.groups.get(nameKey(g))).filter((g) => g !== undefined);
    const p = page(c, groups, (g) => g.name);
    return [el('Groups', members(p.items.map((g) => groupXml(c.store, g)))), ...p.tail];
  },
  async CreatePolicy(c) {
    const name = need(c, 'PolicyName');
    await c.authorize('iam:CreatePolicy', `arn:aws:iam::${c.store.account}:policy${c.params.get('Path') || '/'}${name}`);
    const p = await c.store.createPolicy(name, need(c, 'PolicyDocument'), c.params.get('Description') ?? '', c.params.get('Path'));
    return [policyXml(c.store, await c.store.snapshot(), p)];
  },
  async GetPolicy(c) {
    const p = await authorizedPolicy(c, 'iam:GetPolicy', need(c, 'PolicyArn'));
    return [policyXml(c.store, await c.store.snapshot(), p)];
  },
  async GetPolicyVersion(c) {
    const arn = need(c, 'PolicyArn');
    const p = await authorizedPolicy(c, 'iam:GetPolicyVersion', arn);
    if (need(c, 'VersionId') !== 'v1') throw new IamError('NoSuchEntity', `Policy ${arn} version ${c.params.get('VersionId')} does not exist: policies here have one version, v1.`, 404);
    return [el('PolicyVersion', el('Document', encodeDocument(p.document)), el('VersionId', 'v1'), el('IsDefaultVersion', true), el('CreateDate', isoTime(p.created)))];
  },
  async ListPolicies(c) {
    await c.authorize('iam:ListPolicies', wildcardArn(c, 'policy'));
    const scope = c.params.get('Scope') ?? 'All';
    const snap = await c.store.snapshot();
    const own = scope === 'AWS' ? [] : prefixed(c, snap.policies.values());
    const attachedOnly = c.params.get('OnlyAttached') === 'true';
    const listed = attachedOnly ? own.filter((x) => attachments(snap, x.name) > 0) : own;
    const p = page(c, listed, (x) => x.name);
    return [el('Policies', members(p.items.map((x) => policyXml(c.store, snap, x)))), ...p.tail];
  },
  async DeletePolicy(c) {
    const p = await authorizedPolicy(c, 'iam:DeletePolicy', need(c, 'PolicyArn'));
    await c.store.deletePolicy(p.name);
    return [];
  },
  ...inlineActions('user'),
  ...inlineActions('group'),
};
