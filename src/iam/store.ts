// The identity store: users, groups, managed policies and service accounts of a volume, kept as
// trusted xattrs of one root-only directory, so they live in the volume's metadata (every
// gateway of the volume sees the same, mirrors and dumps carry them) with secrets sealed.
// Readers work from an in-memory snapshot, re-read when the directory's ctime moved (checked at
// most every REFRESH_MS): a change made through another gateway is seen within that time.
import { errorCode } from '../errors/errno.js';
import type { Attr } from '../vfs/attr.js';
import { O_CREAT, O_RDWR } from '../vfs/constants.js';
import type { Caller } from '../vfs/permissions.js';
import type { Vfs } from '../vfs/vfs.js';
import { accountOf, newAccessKey, newSecretKey, newUniqueId } from './ids.js';
import {
  checkDocumentSize, checkName, checkPath, DOCUMENT_LIMITS, IamError, nameKey, noSuch,
  type AccessKeyRecord, type EntityKind, type GroupRecord, type KeyStatus, type ManagedPolicyRecord, type ServiceAccountRecord, type UserRecord,
} from './records.js';
import { Sealer, SealingError } from './sealing.js';
import { checkPolicyText } from './validate.js';

/** Where the store lives, inside the gateway's reserved directory. */
export const IAM_PARENT = '.strata-gateway';
export const IAM_DIR = 'iam';
const PREFIX = 'trusted.iam.';
const SALT = `${PREFIX}salt`;
const CHECK = `${PREFIX}check`;
const CHECK_TEXT = 'strata identity store v1';
const XATTR_CREATE = 1;
export const REFRESH_MS = 1_000;
/** AWS's quota: two access keys per user. */
const MAX_KEYS_PER_USER = 2;
const MAX_ATTACHED = 20;
/** A file of the store's directory whose flock serializes changes across processes. */
const LOCK_FILE = '.lock';
const LOCK_OWNER = 'strata-iam-store';
const LOCK_WAIT_MS = 20;
const LOCK_ATTEMPTS = 500;

export interface IamVolume {
  readonly vfs: Vfs;
  readonly caller: Caller;
}

export interface Snapshot {
  readonly users: ReadonlyMap<string, UserRecord>;
  readonly groups: ReadonlyMap<string, GroupRecord>;
  readonly policies: ReadonlyMap<string, ManagedPolicyRecord>;
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountRecord>;
  /** accessKey → owning user key (user keys) */
  readonly userKeys: ReadonlyMap<string, string>;
}

export interface NewKey {
  accessKey: string;
  secretKey: string;
  status: KeyStatus;
  created: number;
}

const secretPurpose = (accessKey: string) => `strata iam secret ${accessKey}`;

export class IamStore {
  #snapshot: Snapshot | null = null;
  #loadedCtime = -1n;
  #checkedAt = 0;
  #refreshing: Promise<Snapshot> | null = null;
  #writes: Promise<unknown> = Promise.resolve();
  #lockFh: Promise<number> | null = null;
  /** Bumped by every change made here: a refresh that began before it must not stand for after. */
  #generation = 0;

  private constructor(
    private readonly side: IamVolume,
    private readonly dir: number,
    readonly sealer: Sealer,
    readonly account: string,
    private readonly now: () => number,
  ) {}

  /**
   * Open (creating it when absent) the store of the volume `side` is a root client of. The root
   * secret seals secrets; a store made under another root secret is refused with a clear error.
   */
  static async open(side: IamVolume, rootSecret: string, now: () => number = Date.now): Promise<IamStore> {
    const dir = await ensureDir(side);
    let salt: Buffer;
    try {
      salt = Buffer.from(Buffer.from(await side.vfs.getxattr(side.caller, dir.ino, SALT)).toString(), 'hex');
    } catch (err) {
      if (errorCode(err) !== 'ENODATA') throw err;
      salt = (await import('node:crypto')).randomBytes(16);
      try {
        await side.vfs.setxattr(side.caller, dir.ino, SALT, Buffer.from(salt.toString('hex')), XATTR_CREATE);
      } catch (e) {
        if (errorCode(e) !== 'EEXIST') throw e;
        // Another gateway made the store at the same moment: take its salt.
        salt = Buffer.from(Buffer.from(await side.vfs.getxattr(side.caller, dir.ino, SALT)).toString(), 'hex');
      }
    }
    const sealer = new Sealer(rootSecret, salt);
    const check = await readCheck(side, dir.ino);
    let opens = false;
    try {
      opens = check !== null && sealer.open(check, 'check') === CHECK_TEXT;
    } catch (err) {
      if (!(err instanceof SealingError)) throw err;
    }
    if (check !== null && !opens && (await holdsSecrets(side, dir.ino))) {
      throw new IamError('InvalidClientTokenId', `the volume's identity store was sealed under another root secret key: give this gateway (or strata iam) the root secret key the store was made with (STRATA_GATEWAY_SECRET_KEY)`, 403);
    }
    // A new store, or one with nothing sealed yet (no users, no service accounts): the root
    // secret may change freely until then.
    if (!opens) await side.vfs.setxattr(side.caller, dir.ino, CHECK, Buffer.from(sealer.seal(CHECK_TEXT, 'check')), 0);
    const settings = await side.vfs.meta.settings();
    return new IamStore(side, dir.ino, sealer, accountOf(settings.uuid), now);
  }

  // ---- reading ----

  /** The store as of at most REFRESH_MS ago (or as of this process's last change). */
  async snapshot(): Promise<Snapshot> {
    if (this.#snapshot && this.now() - this.#checkedAt < REFRESH_MS) return this.#snapshot;
    this.#refreshing ??= this.#refresh().finally(() => { this.#refreshing = null; });
    return this.#refreshing;
  }

  async #refresh(): Promise<Snapshot> {
    const generation = this.#generation;
    const attr = await this.side.vfs.meta.getattr(this.dir);
    const ctime = attr.ctimeNs;
    if (this.#snapshot && ctime === this.#loadedCtime && generation === this.#generation) {
      this.#checkedAt = this.now();
      return this.#snapshot;
    }
    const snap = await this.#load();
    if (generation === this.#generation) {
      this.#snapshot = snap;
      this.#loadedCtime = ctime;
      this.#checkedAt = this.now();
    }
    return snap;
  }

  async #load(): Promise<Snapshot> {
    const names = (await this.side.vfs.listxattr(this.side.caller, this.dir)).filter((n) => n.startsWith(PREFIX));
    const users = new Map<string, UserRecord>();
    const groups = new Map<string, GroupRecord>();
    const policies = new Map<string, ManagedPolicyRecord>();
    const serviceAccounts = new Map<string, ServiceAccountRecord>();
    const userKeys = new Map<string, string>();
    await Promise.all(names.map(async (name) => {
      const rest = name.slice(PREFIX.length);
      const dot = rest.indexOf('.');
      if (dot < 0) return;
      const kind = rest.slice(0, dot) as EntityKind;
      const key = rest.slice(dot + 1);
      const record = await this.#read<unknown>(kind, key);
      if (record === null) return;
      if (kind === 'user') users.set(key, record as UserRecord);
      else if (kind === 'group') groups.set(key, record as GroupRecord);
      else if (kind === 'policy') policies.set(key, record as ManagedPolicyRecord);
      else if (kind === 'svcacct') serviceAccounts.set(key, record as ServiceAccountRecord);
    }));
    for (const [key, u] of users) for (const k of u.keys) userKeys.set(k.accessKey, key);
    return { users, groups, policies, serviceAccounts, userKeys };
  }

  async #read<T>(kind: EntityKind, key: string): Promise<T | null> {
    try {
      return JSON.parse(Buffer.from(await this.side.vfs.getxattr(this.side.caller, this.dir, `${PREFIX}${kind}.${key}`)).toString()) as T;
    } catch (err) {
      if (errorCode(err) === 'ENODATA') return null;
      if (err instanceof SyntaxError) throw new IamError('ServiceFailure', `the identity store's ${kind} record "${key}" is damaged (not JSON)`, 500);
      throw err;
    }
  }

  nowMs(): number {
    return this.now();
  }

  /** Where the store reports what an operator must fix (set by the gateway: its log). */
  report: (message: string) => void = (m) => process.stderr.write(`strata iam: ${m}\n`);

  /** The plaintext secret of a stored access key. */
  secretOf(accessKey: string, sealed: string): string {
    return this.sealer.open(sealed, secretPurpose(accessKey));
  }

  arn(kind: 'user' | 'group' | 'policy', record: { name: string; path: string }): string {
    return `arn:aws:iam::${this.account}:${kind}${record.path}${record.name}`;
  }

  get rootArn(): string {
    return `arn:aws:iam::${this.account}:root`;
  }

  // ---- changing ----

  /** Changes run one at a time in this process, and under a lock in the volume's metadata across
   * processes (gateways, strata iam), each on records read afresh: two changes of one record never
   * undo each other. They are seen by this process's readers at once. */
  #change<T>(fn: () => Promise<T>): Promise<T> {
    const locked = () => this.#locked(fn);
    const run = this.#writes.then(locked, locked);
    this.#writes = run.catch(() => undefined);
    return run.finally(() => {
      this.#generation++;
      this.#checkedAt = 0;
      this.#loadedCtime = -1n;
    });
  }

  async #lockFile(): Promise<number> {
    this.#lockFh ??= this.side.vfs.create(this.side.caller, this.dir, LOCK_FILE, 0o600, O_RDWR | O_CREAT).then((r) => r.fh);
    return this.#lockFh;
  }

  /** Let go of the store's lock file (before its volume closes). */
  async close(): Promise<void> {
    const fh = await this.#lockFh?.catch(() => null);
    this.#lockFh = null;
    if (fh != null) await this.side.vfs.release(fh).catch(() => undefined);
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const fh = await this.#lockFile();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.side.vfs.flock(fh, LOCK_OWNER, 'write');
        break;
      } catch (err) {
        if (errorCode(err) !== 'EAGAIN') throw err;
        if (attempt >= LOCK_ATTEMPTS) throw new IamError('ConcurrentModification', 'Another change of the identity store has held it for too long; try again.', 409);
        await new Promise((r) => setTimeout(r, LOCK_WAIT_MS));
      }
    }
    try {
      return await fn();
    } finally {
      await this.side.vfs.flock(fh, LOCK_OWNER, 'unlock').catch(() => undefined);
    }
  }

  async #write(kind: EntityKind, key: string, record: object, create = false): Promise<void> {
    try {
      await this.side.vfs.setxattr(this.side.caller, this.dir, `${PREFIX}${kind}.${key}`, Buffer.from(JSON.stringify(record)), create ? XATTR_CREATE : 0);
    } catch (err) {
      if (create && errorCode(err) === 'EEXIST') throw new IamError('EntityAlreadyExists', `The ${kind === 'svcacct' ? 'service account' : kind} ${key} already exists.`, 409);
      if (errorCode(err) === 'E2BIG') throw new IamError('LimitExceeded', `The ${kind} record ${key} would exceed 64 KiB.`, 409);
      throw err;
    }
  }

  async #remove(kind: EntityKind, key: string): Promise<void> {
    await this.side.vfs.removexattr(this.side.caller, this.dir, `${PREFIX}${kind}.${key}`);
  }

  async #need<T>(kind: 'user' | 'group' | 'policy', name: string): Promise<T> {
    const r = await this.#read<T>(kind, nameKey(name));
    if (r === null) throw noSuch(kind, name);
    return r;
  }

  #sealKey(): NewKey & { record: AccessKeyRecord } {
    const accessKey = newAccessKey();
    const secretKey = newSecretKey();
    const created = this.now();
    return { accessKey, secretKey, status: 'Active', created, record: { accessKey, sealedSecret: this.sealer.seal(secretKey, secretPurpose(accessKey)), status: 'Active', created } };
  }

  createUser(name: string, path?: string): Promise<UserRecord> {
    return this.#change(async () => {
      const user: UserRecord = {
        name: checkName('user', name), path: checkPath(path), id: newUniqueId('AIDA'), created: this.now(), enabled: true,
        groups: [], attached: [], inline: {}, keys: [],
      };
      await this.#write('user', nameKey(name), user, true);
      return user;
    });
  }

  /** Delete a user; unless `force`, only one with nothing attached, as IAM requires. */
  deleteUser(name: string, force = false): Promise<void> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', name);
      const svc = [...(await this.#load()).serviceAccounts.values()].filter((s) => nameKey(s.parent) === nameKey(u.name));
      const held = [
        u.keys.length > 0 && 'access keys', u.groups.length > 0 && 'group memberships', u.attached.length > 0 && 'attached policies',
        Object.keys(u.inline).length > 0 && 'inline policies', svc.length > 0 && 'service accounts',
      ].filter(Boolean);
      if (held.length > 0 && !force) throw new IamError('DeleteConflict', `Cannot delete user ${u.name}: it still has ${held.join(', ')}. Remove them first.`, 409);
      for (const s of svc) await this.#remove('svcacct', s.accessKey);
      await this.#remove('user', nameKey(u.name));
    });
  }

  setUserEnabled(name: string, enabled: boolean): Promise<UserRecord> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', name);
      u.enabled = enabled;
      await this.#write('user', nameKey(u.name), u);
      return u;
    });
  }

  createAccessKey(userName: string): Promise<NewKey> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', userName);
      if (u.keys.length >= MAX_KEYS_PER_USER) throw new IamError('LimitExceeded', `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}.`, 409);
      const { record, ...key } = this.#sealKey();
      u.keys.push(record);
      await this.#write('user', nameKey(u.name), u);
      return key;
    });
  }

  deleteAccessKey(userName: string, accessKey: string): Promise<void> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', userName);
      const before = u.keys.length;
      u.keys = u.keys.filter((k) => k.accessKey !== accessKey);
      if (u.keys.length === before) throw new IamError('NoSuchEntity', `The Access Key with id ${accessKey} cannot be found.`, 404);
      await this.#write('user', nameKey(u.name), u);
    });
  }

  setAccessKeyStatus(userName: string, accessKey: string, status: KeyStatus): Promise<void> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', userName);
      const k = u.keys.find((x) => x.accessKey === accessKey);
      if (!k) throw new IamError('NoSuchEntity', `The Access Key with id ${accessKey} cannot be found.`, 404);
      k.status = status;
      await this.#write('user', nameKey(u.name), u);
    });
  }

  createGroup(name: string, path?: string): Promise<GroupRecord> {
    return this.#change(async () => {
      const g: GroupRecord = { name: checkName('group', name), path: checkPath(path), id: newUniqueId('AGPA'), created: this.now(), attached: [], inline: {} };
      await this.#write('group', nameKey(name), g, true);
      return g;
    });
  }

  deleteGroup(name: string, force = false): Promise<void> {
    return this.#change(async () => {
      const g = await this.#need<GroupRecord>('group', name);
      const members = [...(await this.#load()).users.values()].filter((u) => u.groups.some((x) => nameKey(x) === nameKey(g.name)));
      const held = [members.length > 0 && 'members', g.attached.length > 0 && 'attached policies', Object.keys(g.inline).length > 0 && 'inline policies'].filter(Boolean);
      if (held.length > 0 && !force) throw new IamError('DeleteConflict', `Cannot delete group ${g.name}: it still has ${held.join(', ')}. Remove them first.`, 409);
      for (const u of members) {
        u.groups = u.groups.filter((x) => nameKey(x) !== nameKey(g.name));
        await this.#write('user', nameKey(u.name), u);
      }
      await this.#remove('group', nameKey(g.name));
    });
  }

  setMembership(userName: string, groupName: string, member: boolean): Promise<void> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', userName);
      const g = await this.#need<GroupRecord>('group', groupName);
      const has = u.groups.some((x) => nameKey(x) === nameKey(g.name));
      if (member && !has) u.groups.push(g.name);
      else if (!member && has) u.groups = u.groups.filter((x) => nameKey(x) !== nameKey(g.name));
      else if (!member) throw new IamError('NoSuchEntity', `User ${u.name} is not in group ${g.name}.`, 404);
      else return;
      await this.#write('user', nameKey(u.name), u);
    });
  }

  createPolicy(name: string, document: string, description = '', path?: string): Promise<ManagedPolicyRecord> {
    return this.#change(async () => {
      checkName('policy', name);
      checkDocumentSize(document, DOCUMENT_LIMITS.managed, 'policy document');
      checkPolicyText(document);
      const now = this.now();
      const p: ManagedPolicyRecord = { name, path: checkPath(path), id: newUniqueId('ANPA'), description: String(description).slice(0, 1000), document, created: now, updated: now };
      await this.#write('policy', nameKey(name), p, true);
      return p;
    });
  }

  deletePolicy(name: string): Promise<void> {
    return this.#change(async () => {
      const p = await this.#need<ManagedPolicyRecord>('policy', name);
      const snap = await this.#load();
      const users = [...snap.users.values()].filter((u) => u.attached.some((a) => nameKey(a) === nameKey(p.name))).map((u) => `user ${u.name}`);
      const groups = [...snap.groups.values()].filter((g) => g.attached.some((a) => nameKey(a) === nameKey(p.name))).map((g) => `group ${g.name}`);
      if (users.length + groups.length > 0) throw new IamError('DeleteConflict', `Cannot delete policy ${p.name}: it is attached to ${[...users, ...groups].slice(0, 10).join(', ')}. Detach it first.`, 409);
      await this.#remove('policy', nameKey(p.name));
    });
  }

  /** Attach (or detach) managed policy `policy` to a user or group. */
  setAttached(kind: 'user' | 'group', name: string, policy: string, attached: boolean): Promise<void> {
    return this.#change(async () => {
      const target = await this.#need<UserRecord | GroupRecord>(kind, name);
      const p = await this.#need<ManagedPolicyRecord>('policy', policy);
      const has = target.attached.some((a) => nameKey(a) === nameKey(p.name));
      if (attached && !has) {
        if (target.attached.length >= MAX_ATTACHED) throw new IamError('LimitExceeded', `Cannot exceed quota for PoliciesPer${kind === 'user' ? 'User' : 'Group'}: ${MAX_ATTACHED}.`, 409);
        target.attached.push(p.name);
      } else if (!attached && has) {
        target.attached = target.attached.filter((a) => nameKey(a) !== nameKey(p.name));
      } else if (!attached) {
        throw new IamError('NoSuchEntity', `Policy ${p.name} is not attached to ${kind} ${target.name}.`, 404);
      } else {
        return;
      }
      await this.#write(kind, nameKey(target.name), target);
    });
  }

  /** Put (document) or delete (null) an inline policy of a user or group. */
  setInline(kind: 'user' | 'group', name: string, policyName: string, document: string | null): Promise<void> {
    return this.#change(async () => {
      const target = await this.#need<UserRecord | GroupRecord>(kind, name);
      checkName('policy', policyName);
      if (document === null) {
        if (!Object.hasOwn(target.inline, policyName)) throw new IamError('NoSuchEntity', `The ${kind} policy with name ${policyName} cannot be found.`, 404);
        delete target.inline[policyName];
      } else {
        checkDocumentSize(document, kind === 'user' ? DOCUMENT_LIMITS.userInline : DOCUMENT_LIMITS.groupInline, 'inline policy document');
        checkPolicyText(document);
        // Defined, not assigned: a policy named "__proto__" is a policy, not a prototype.
        Object.defineProperty(target.inline, policyName, { value: document, enumerable: true, writable: true, configurable: true });
      }
      await this.#write(kind, nameKey(target.name), target);
    });
  }

  createServiceAccount(parent: string, policy?: string, description = ''): Promise<NewKey & { parent: string }> {
    return this.#change(async () => {
      const u = await this.#need<UserRecord>('user', parent);
      if (policy !== undefined) {
        checkDocumentSize(policy, DOCUMENT_LIMITS.serviceAccount, 'service account policy');
        checkPolicyText(policy);
      }
      const { record, ...key } = this.#sealKey();
      const svc: ServiceAccountRecord = {
        accessKey: key.accessKey, sealedSecret: record.sealedSecret, parent: u.name, description: String(description).slice(0, 256),
        status: 'Active', created: key.created, ...(policy !== undefined ? { policy } : {}),
      };
      await this.#write('svcacct', key.accessKey, svc, true);
      return { ...key, parent: u.name };
    });
  }

  deleteServiceAccount(accessKey: string): Promise<void> {
    return this.#change(async () => {
      if ((await this.#read('svcacct', accessKey)) === null) throw new IamError('NoSuchEntity', `The service account ${accessKey} cannot be found.`, 404);
      await this.#remove('svcacct', accessKey);
    });
  }

  setServiceAccountStatus(accessKey: string, status: KeyStatus): Promise<void> {
    return this.#change(async () => {
      const s = await this.#read<ServiceAccountRecord>('svcacct', accessKey);
      if (s === null) throw new IamError('NoSuchEntity', `The service account ${accessKey} cannot be found.`, 404);
      s.status = status;
      await this.#write('svcacct', accessKey, s);
    });
  }
}

async function readCheck(side: IamVolume, dir: number): Promise<string | null> {
  try {
    return Buffer.from(await side.vfs.getxattr(side.caller, dir, CHECK)).toString();
  } catch (err) {
    if (errorCode(err) === 'ENODATA') return null;
    throw err;
  }
}

/** Does the store hold anything sealed (users' keys, service accounts)? */
async function holdsSecrets(side: IamVolume, dir: number): Promise<boolean> {
  const names = await side.vfs.listxattr(side.caller, dir);
  return names.some((n) => n.startsWith(`${PREFIX}user.`) || n.startsWith(`${PREFIX}svcacct.`));
}

async function ensureDir(side: IamVolume): Promise<Attr> {
  let parent: Attr;
  try {
    parent = await side.vfs.lookup(side.caller, 1, IAM_PARENT);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    parent = await side.vfs.mkdir(side.caller, 1, IAM_PARENT, 0o700).catch(async (e: unknown) => {
      if (errorCode(e) !== 'EEXIST') throw e;
      return side.vfs.lookup(side.caller, 1, IAM_PARENT);
    });
  }
  try {
    return await side.vfs.lookup(side.caller, parent.ino, IAM_DIR);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    return side.vfs.mkdir(side.caller, parent.ino, IAM_DIR, 0o700).catch(async (e: unknown) => {
      if (errorCode(e) !== 'EEXIST') throw e;
      return side.vfs.lookup(side.caller, parent.ino, IAM_DIR);
    });
  }
}
