// The IAM actions the gateway serves: users and their access keys, groups and membership,
// managed policies and their attachment, and inline policies of users and groups.
import { IamError, nameKey } from '../../iam/records.js';
import { el, type XmlChild } from '../xml.js';
import { isoTime } from '../respond.js';
import { need, optionalInt, policyName, userNameOrSelf, type QueryCall, type QueryHandler } from './call.js';
import { attachments, encodeDocument, groupXml, members, policyXml, userXml } from './shapes.js';

const arnOf = (c: QueryCall, kind: 'user' | 'group' | 'policy', name: string, path = '/') => `arn:aws:iam::${c.store.account}:${kind}${path}${name}`;

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
      await c.authorize(`iam:Put${K}Policy`, arnOf(c, kind, name));
      await c.store.setInline(kind, name, need(c, 'PolicyName'), need(c, 'PolicyDocument'));
      return [];
    },
    [`Get${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Get${K}Policy`, arnOf(c, kind, name));
      const holder = await find(c, name);
      const policy = need(c, 'PolicyName');
      const doc = holder.inline[policy];
      if (doc === undefined) throw new IamError('NoSuchEntity', `The ${kind} policy with name ${policy} cannot be found.`, 404);
      return [el(`${K}Name`, holder.name), el('PolicyName', policy), el('PolicyDocument', encodeDocument(doc))];
    },
    [`Delete${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Delete${K}Policy`, arnOf(c, kind, name));
      await c.store.setInline(kind, name, need(c, 'PolicyName'), null);
      return [];
    },
    [`List${K}Policies`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:List${K}Policies`, arnOf(c, kind, name));
      const holder = await find(c, name);
      const p = page(c, Object.keys(holder.inline), (n) => n);
      return [el('PolicyNames', p.items.map((n) => el('member', n))), ...p.tail];
    },
    [`Attach${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Attach${K}Policy`, arnOf(c, kind, name));
      await c.store.setAttached(kind, name, policyName(c, need(c, 'PolicyArn')), true);
      return [];
    },
    [`Detach${K}Policy`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:Detach${K}Policy`, arnOf(c, kind, name));
      await c.store.setAttached(kind, name, policyName(c, need(c, 'PolicyArn')), false);
      return [];
    },
    [`ListAttached${K}Policies`]: async (c) => {
      const name = target(c);
      await c.authorize(`iam:ListAttached${K}Policies`, arnOf(c, kind, name));
      const holder = await find(c, name);
      const snap = await c.store.snapshot();
      const p = page(c, holder.attached, (n) => n);
      return [el('AttachedPolicies', p.items.map((n) => {
        const rec = snap.policies.get(nameKey(n));
        return el('member', el('PolicyName', n), el('PolicyArn', rec ? c.store.arn('policy', rec) : arnOf(c, 'policy', n)));
      })), ...p.tail];
    },
  };
};

export const IAM_ACTIONS: Record<string, QueryHandler> = {
  async CreateUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:CreateUser', arnOf(c, 'user', name, c.params.get('Path') || '/'));
    return [userXml(c.store, await c.store.createUser(name, c.params.get('Path')))];
  },
  async GetUser(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:GetUser', arnOf(c, 'user', name));
    return [userXml(c.store, await userNamed(c, name))];
  },
  async ListUsers(c) {
    await c.authorize('iam:ListUsers', arnOf(c, 'user', '*'));
    const p = page(c, prefixed(c, (await c.store.snapshot()).users.values()), (u) => u.name);
    return [el('Users', members(p.items.map((u) => userXml(c.store, u)))), ...p.tail];
  },
  async DeleteUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:DeleteUser', arnOf(c, 'user', name));
    await c.store.deleteUser(name);
    return [];
  },
  async CreateAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:CreateAccessKey', arnOf(c, 'user', name));
    const k = await c.store.createAccessKey(name);
    return [el('AccessKey', el('UserName', (await userNamed(c, name)).name), el('AccessKeyId', k.accessKey), el('Status', k.status), el('SecretAccessKey', k.secretKey), el('CreateDate', isoTime(k.created)))];
  },
  async ListAccessKeys(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:ListAccessKeys', arnOf(c, 'user', name));
    const u = await userNamed(c, name);
    return [el('AccessKeyMetadata', u.keys.map((k) => el('member', el('UserName', u.name), el('AccessKeyId', k.accessKey), el('Status', k.status), el('CreateDate', isoTime(k.created))))), el('IsTruncated', false)];
  },
  async UpdateAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:UpdateAccessKey', arnOf(c, 'user', name));
    const status = need(c, 'Status');
    if (status !== 'Active' && status !== 'Inactive') throw new IamError('ValidationError', `Status must be Active or Inactive, got "${status.slice(0, 20)}".`);
    await c.store.setAccessKeyStatus(name, need(c, 'AccessKeyId'), status);
    return [];
  },
  async DeleteAccessKey(c) {
    const name = userNameOrSelf(c);
    await c.authorize('iam:DeleteAccessKey', arnOf(c, 'user', name));
    await c.store.deleteAccessKey(name, need(c, 'AccessKeyId'));
    return [];
  },
  async CreateGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:CreateGroup', arnOf(c, 'group', name, c.params.get('Path') || '/'));
    return [groupXml(c.store, await c.store.createGroup(name, c.params.get('Path')))];
  },
  async GetGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:GetGroup', arnOf(c, 'group', name));
    const g = await groupNamed(c, name);
    const users = [...(await c.store.snapshot()).users.values()].filter((u) => u.groups.some((x) => nameKey(x) === nameKey(g.name)));
    const p = page(c, users, (u) => u.name);
    return [groupXml(c.store, g), el('Users', members(p.items.map((u) => userXml(c.store, u)))), ...p.tail];
  },
  async ListGroups(c) {
    await c.authorize('iam:ListGroups', arnOf(c, 'group', '*'));
    const p = page(c, prefixed(c, (await c.store.snapshot()).groups.values()), (g) => g.name);
    return [el('Groups', members(p.items.map((g) => groupXml(c.store, g)))), ...p.tail];
  },
  async DeleteGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:DeleteGroup', arnOf(c, 'group', name));
    await c.store.deleteGroup(name);
    return [];
  },
  async AddUserToGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:AddUserToGroup', arnOf(c, 'group', name));
    await c.store.setMembership(need(c, 'UserName'), name, true);
    return [];
  },
  async RemoveUserFromGroup(c) {
    const name = need(c, 'GroupName');
    await c.authorize('iam:RemoveUserFromGroup', arnOf(c, 'group', name));
    await c.store.setMembership(need(c, 'UserName'), name, false);
    return [];
  },
  async ListGroupsForUser(c) {
    const name = need(c, 'UserName');
    await c.authorize('iam:ListGroupsForUser', arnOf(c, 'user', name));
    const u = await userNamed(c, name);
    const snap = await c.store.snapshot();
    const groups = u.groups.map((g) => snap.groups.get(nameKey(g))).filter((g) => g !== undefined);
    const p = page(c, groups, (g) => g.name);
    return [el('Groups', members(p.items.map((g) => groupXml(c.store, g)))), ...p.tail];
  },
  async CreatePolicy(c) {
    const name = need(c, 'PolicyName');
    await c.authorize('iam:CreatePolicy', arnOf(c, 'policy', name, c.params.get('Path') || '/'));
    const p = await c.store.createPolicy(name, need(c, 'PolicyDocument'), c.params.get('Description') ?? '', c.params.get('Path'));
    return [policyXml(c.store, await c.store.snapshot(), p)];
  },
  async GetPolicy(c) {
    const arn = need(c, 'PolicyArn');
    await c.authorize('iam:GetPolicy', arn);
    const snap = await c.store.snapshot();
    const p = snap.policies.get(nameKey(policyName(c, arn)));
    if (!p) throw new IamError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404);
    return [policyXml(c.store, snap, p)];
  },
  async GetPolicyVersion(c) {
    const arn = need(c, 'PolicyArn');
    await c.authorize('iam:GetPolicyVersion', arn);
    const p = (await c.store.snapshot()).policies.get(nameKey(policyName(c, arn)));
    if (!p) throw new IamError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404);
    if (need(c, 'VersionId') !== 'v1') throw new IamError('NoSuchEntity', `Policy ${arn} version ${c.params.get('VersionId')} does not exist: policies here have one version, v1.`, 404);
    return [el('PolicyVersion', el('Document', encodeDocument(p.document)), el('VersionId', 'v1'), el('IsDefaultVersion', true), el('CreateDate', isoTime(p.created)))];
  },
  async ListPolicies(c) {
    await c.authorize('iam:ListPolicies', arnOf(c, 'policy', '*'));
    const scope = c.params.get('Scope') ?? 'All';
    const snap = await c.store.snapshot();
    const own = scope === 'AWS' ? [] : prefixed(c, snap.policies.values());
    const attachedOnly = c.params.get('OnlyAttached') === 'true';
    const listed = attachedOnly ? own.filter((x) => attachments(snap, x.name) > 0) : own;
    const p = page(c, listed, (x) => x.name);
    return [el('Policies', members(p.items.map((x) => policyXml(c.store, snap, x)))), ...p.tail];
  },
  async DeletePolicy(c) {
    const arn = need(c, 'PolicyArn');
    await c.authorize('iam:DeletePolicy', arn);
    await c.store.deletePolicy(policyName(c, arn));
    return [];
  },
  ...inlineActions('user'),
  ...inlineActions('group'),
};
