// strata iam user|group|policy|svcacct: the operator's hold on a volume's identity store (the same
// store the gateway's IAM API changes). Secrets are sealed with the gateway's root secret key,
// which these commands need too; a new secret key is printed once, when it is made.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { IamError, type KeyStatus } from '../../iam/records.js';
import { IamStore } from '../../iam/store.js';
import { Volume } from '../../sdk/volume.js';
import { formatTime, printRows } from '../output.js';
import { SECRET_KEY_ENV } from './gateway.js';

interface Common { secretKey?: string; json?: boolean }

async function withStore<T>(metaUrl: string, flags: Common, fn: (store: IamStore) => Promise<T>): Promise<T> {
  const secret = flags.secretKey ?? process.env[SECRET_KEY_ENV];
  if (!secret) throw Object.assign(new Error(`strata iam needs the gateway's root secret key, which seals the store's secrets: --secret-key or $${SECRET_KEY_ENV}`), { exitCode: 2 });
  const vol = await Volume.open(metaUrl, { client: 'cli-iam', uid: 0, gid: 0, gids: [] });
  try {
    const store = await IamStore.open({ vfs: vol.vfs, caller: vol.caller }, secret);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  } catch (err) {
    if (err instanceof IamError) throw Object.assign(new Error(`${err.code}: ${err.message}`), { exitCode: 1 });
    throw err;
  } finally {
    await vol.close();
  }
}

function print(flags: Common, json: unknown, text: () => void): void {
  if (flags.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else text();
}

function readDocument(source: string): string {
  const text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
  return text.trim();
}

const common = (c: Command): Command => c
  .argument('<meta-url>', 'metadata URL')
  .option('--secret-key <key>', `the gateway's root secret key (default: $${SECRET_KEY_ENV})`)
  .option('--json', 'print JSON');

function registerUsers(iam: Command): void {
  const user = iam.command('user').description('IAM users: each has access keys and the union of its own and its groups\' policies');
  common(user.command('add').description('create a user and an access key for it (the secret is printed once)').argument('<name>', 'user name'))
    .option('--no-key', 'create no access key')
    .action(async (metaUrl: string, name: string, flags: Common & { key: boolean }) => withStore(metaUrl, flags, async (store) => {
      const u = await store.createUser(name);
      const key = flags.key ? await store.createAccessKey(name) : null;
      print(flags, { user: u.name, arn: store.arn('user', u), ...(key ? { accessKey: key.accessKey, secretKey: key.secretKey } : {}) }, () => {
        process.stdout.write(`created user ${u.name} (${store.arn('user', u)})\n`);
        if (key) process.stdout.write(`access key  ${key.accessKey}\nsecret key  ${key.secretKey}\n(the secret key is not shown again)\n`);
      });
    }));
  common(user.command('list').description('list users'))
    .action(async (metaUrl: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      const users = [...(await store.snapshot()).users.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      print(flags, users.map((u) => ({ name: u.name, arn: store.arn('user', u), enabled: u.enabled, groups: u.groups, policies: u.attached, inline: Object.keys(u.inline), keys: u.keys.map((k) => ({ accessKey: k.accessKey, status: k.status })) })), () => {
        printRows(['user', 'enabled', 'groups', 'policies', 'keys', 'created'], users.map((u) => [
          u.name, u.enabled ? 'yes' : 'no', u.groups.join(',') || '-', [...u.attached, ...Object.keys(u.inline).map((n) => `${n} (inline)`)].join(',') || '-',
          u.keys.map((k) => `${k.accessKey}${k.status === 'Active' ? '' : ' (inactive)'}`).join(',') || '-', formatTime(u.created),
        ]));
      });
    }));
  common(user.command('rm').description('delete a user').argument('<name>', 'user name'))
    .option('--force', 'also delete its keys, service accounts, memberships and policies')
    .action(async (metaUrl: string, name: string, flags: Common & { force?: boolean }) => withStore(metaUrl, flags, async (store) => {
      await store.deleteUser(name, flags.force === true);
      print(flags, { deleted: name }, () => process.stdout.write(`deleted user ${name}\n`));
    }));
  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    common(user.command(verb).description(`${verb} a user (a disabled user's keys, service accounts and sessions stop working)`).argument('<name>', 'user name'))
      .action(async (metaUrl: string, name: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
        await store.setUserEnabled(name, enabled);
        print(flags, { user: name, enabled }, () => process.stdout.write(`${verb}d user ${name}\n`));
      }));
  }
}

function registerGroups(iam: Command): void {
  const group = iam.command('group').description('IAM groups: their policies apply to every member');
  common(group.command('add').description('create a group').argument('<name>', 'group name'))
    .action(async (metaUrl: string, name: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      const g = await store.createGroup(name);
      print(flags, { group: g.name, arn: store.arn('group', g) }, () => process.stdout.write(`created group ${g.name}\n`));
    }));
  common(group.command('list').description('list groups and their members'))
    .action(async (metaUrl: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      const snap = await store.snapshot();
      const rows = [...snap.groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((g) => ({
        name: g.name, policies: g.attached, inline: Object.keys(g.inline),
        members: [...snap.users.values()].filter((u) => u.groups.some((x) => x.toLowerCase() === g.name.toLowerCase())).map((u) => u.name),
      }));
      print(flags, rows, () => printRows(['group', 'members', 'policies'], rows.map((r) => [r.name, r.members.join(',') || '-', [...r.policies, ...r.inline.map((n) => `${n} (inline)`)].join(',') || '-'])));
    }));
  common(group.command('rm').description('delete a group').argument('<name>', 'group name'))
    .option('--force', 'also remove its members and policies')
    .action(async (metaUrl: string, name: string, flags: Common & { force?: boolean }) => withStore(metaUrl, flags, async (store) => {
      await store.deleteGroup(name, flags.force === true);
      print(flags, { deleted: name }, () => process.stdout.write(`deleted group ${name}\n`));
    }));
  for (const [verb, member] of [['join', true], ['leave', false]] as const) {
    common(group.command(verb).description(member ? 'add a user to a group' : 'remove a user from a group').argument('<group>', 'group name').argument('<user>', 'user name'))
      .action(async (metaUrl: string, groupName: string, userName: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
        await store.setMembership(userName, groupName, member);
        print(flags, { group: groupName, user: userName, member }, () => process.stdout.write(`${userName} ${member ? 'joined' : 'left'} ${groupName}\n`));
      }));
  }
}

function registerPolicies(iam: Command): void {
  const policy = iam.command('policy').description('managed policies (AWS IAM JSON), attached to users and groups');
  common(policy.command('add').description('create a managed policy from a JSON file ("-": standard input)').argument('<name>', 'policy name').argument('<file>', 'policy document'))
    .option('--description <text>', 'what the policy is for')
    .action(async (metaUrl: string, name: string, file: string, flags: Common & { description?: string }) => withStore(metaUrl, flags, async (store) => {
      const p = await store.createPolicy(name, readDocument(file), flags.description ?? '');
      print(flags, { policy: p.name, arn: store.arn('policy', p) }, () => process.stdout.write(`created policy ${p.name} (${store.arn('policy', p)})\n`));
    }));
  common(policy.command('list').description('list managed policies'))
    .action(async (metaUrl: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      const list = [...(await store.snapshot()).policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      print(flags, list.map((p) => ({ name: p.name, arn: store.arn('policy', p), description: p.description })), () => printRows(['policy', 'arn', 'description'], list.map((p) => [p.name, store.arn('policy', p), p.description || '-'])));
    }));
  common(policy.command('show').description('print a managed policy\'s document').argument('<name>', 'policy name'))
    .action(async (metaUrl: string, name: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      const p = (await store.snapshot()).policies.get(name.toLowerCase());
      if (!p) throw new IamError('NoSuchEntity', `The policy with name ${name} cannot be found.`, 404);
      print(flags, { policy: p.name, document: JSON.parse(p.document) as unknown }, () => process.stdout.write(`${JSON.stringify(JSON.parse(p.document), null, 2)}\n`));
    }));
  common(policy.command('rm').description('delete a managed policy (it must be attached nowhere)').argument('<name>', 'policy name'))
    .action(async (metaUrl: string, name: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      await store.deletePolicy(name);
      print(flags, { deleted: name }, () => process.stdout.write(`deleted policy ${name}\n`));
    }));
  for (const [verb, attached] of [['attach', true], ['detach', false]] as const) {
    common(policy.command(verb).description(`${verb} a managed policy ${attached ? 'to' : 'from'} a user or group`).argument('<policy>', 'policy name'))
      .option('--user <name>', 'the user')
      .option('--group <name>', 'the group')
      .action(async (metaUrl: string, name: string, flags: Common & { user?: string; group?: string }) => withStore(metaUrl, flags, async (store) => {
        if ((flags.user === undefined) === (flags.group === undefined)) throw Object.assign(new Error(`give exactly one of --user and --group`), { exitCode: 2 });
        const kind = flags.user !== undefined ? 'user' : 'group';
        const target = (flags.user ?? flags.group)!;
        await store.setAttached(kind, target, name, attached);
        print(flags, { policy: name, [kind]: target, attached }, () => process.stdout.write(`${attached ? 'attached' : 'detached'} ${name} ${attached ? 'to' : 'from'} ${kind} ${target}\n`));
      }));
  }
}

function registerServiceAccounts(iam: Command): void {
  const svc = iam.command('svcacct').description('service accounts: extra access keys of a user, optionally narrowed by their own policy');
  common(svc.command('add').description('create a service account of a user (the secret is printed once)').argument('<user>', 'parent user'))
    .option('--policy <file>', 'a policy narrowing what the account may do ("-": standard input)')
    .option('--description <text>', 'what the account is for')
    .action(async (metaUrl: string, parent: string, flags: Common & { policy?: string; description?: string }) => withStore(metaUrl, flags, async (store) => {
      const k = await store.createServiceAccount(parent, flags.policy === undefined ? undefined : readDocument(flags.policy), flags.description ?? '');
      print(flags, { parent: k.parent, accessKey: k.accessKey, secretKey: k.secretKey }, () => {
        process.stdout.write(`created a service account of ${k.parent}\naccess key  ${k.accessKey}\nsecret key  ${k.secretKey}\n(the secret key is not shown again)\n`);
      });
    }));
  common(svc.command('list').description('list service accounts'))
    .option('--user <name>', 'only those of this user')
    .action(async (metaUrl: string, flags: Common & { user?: string }) => withStore(metaUrl, flags, async (store) => {
      const list = [...(await store.snapshot()).serviceAccounts.values()]
        .filter((s) => flags.user === undefined || s.parent.toLowerCase() === flags.user.toLowerCase())
        .sort((a, b) => (a.accessKey < b.accessKey ? -1 : 1));
      print(flags, list.map((s) => ({ accessKey: s.accessKey, parent: s.parent, status: s.status, narrowed: s.policy !== undefined, description: s.description })), () =>
        printRows(['access key', 'user', 'status', 'narrowed', 'description'], list.map((s) => [s.accessKey, s.parent, s.status, s.policy !== undefined ? 'yes' : 'no', s.description || '-'])));
    }));
  common(svc.command('rm').description('delete a service account').argument('<access-key>', 'its access key'))
    .action(async (metaUrl: string, key: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
      await store.deleteServiceAccount(key);
      print(flags, { deleted: key }, () => process.stdout.write(`deleted service account ${key}\n`));
    }));
  for (const [verb, status] of [['enable', 'Active'], ['disable', 'Inactive']] as [string, KeyStatus][]) {
    common(svc.command(verb).description(`${verb} a service account`).argument('<access-key>', 'its access key'))
      .action(async (metaUrl: string, key: string, flags: Common) => withStore(metaUrl, flags, async (store) => {
        await store.setServiceAccountStatus(key, status);
        print(flags, { accessKey: key, status }, () => process.stdout.write(`${verb}d service account ${key}\n`));
      }));
  }
}

export function registerIam(program: Command): void {
  const iam = program.command('iam').description('users, groups, policies and service accounts of a volume\'s S3 gateway');
  registerUsers(iam);
  registerGroups(iam);
  registerPolicies(iam);
  registerServiceAccounts(iam);
}
