// The STS actions: who am I, and temporary credentials. AssumeRole here follows MinIO's reading
// for a single-account store: the session acts as the caller (its user, or root), narrowed by
// the optional session policy; RoleArn is recorded in the answer's ARNs and not otherwise
// interpreted, since there are no roles to trust. Sessions cannot mint further sessions.
import { IamError } from '../../iam/records.js';
import { DOCUMENT_LIMITS, checkDocumentSize } from '../../iam/records.js';
import { issueSession } from '../../iam/sessions.js';
import { checkPolicyText } from '../../iam/validate.js';
import { isoTime } from '../respond.js';
import { el } from '../xml.js';
import { need, optionalInt, type QueryCall, type QueryHandler } from './call.js';

function sessionOf(c: QueryCall, duration: number, policy: string | undefined) {
  const id = c.identity;
  if (id.kind === 'session') throw new IamError('AccessDenied', 'Temporary credentials cannot request further temporary credentials: use long-term credentials.', 403);
  if (id.kind === 'anonymous') throw new IamError('AccessDenied', 'Anonymous callers get no credentials.', 403);
  if (policy !== undefined) {
    checkDocumentSize(policy, DOCUMENT_LIMITS.session, 'session policy');
    checkPolicyText(policy);
  }
  return issueSession(c.store, {
    user: id.user, issuedBy: id.accessKey, ...(id.user !== null && id.userId !== null ? { userId: id.userId } : {}),
    ...(id.serviceAccount !== undefined ? { serviceAccount: id.serviceAccount } : {}), ...(policy !== undefined ? { policy } : {}),
  }, duration);
}

function credentialsXml(s: ReturnType<typeof issueSession>) {
  return el('Credentials', el('AccessKeyId', s.accessKey), el('SecretAccessKey', s.secretKey), el('SessionToken', s.sessionToken), el('Expiration', isoTime(s.expires)));
}

export const STS_ACTIONS: Record<string, QueryHandler> = {
  async GetCallerIdentity(c) {
    const id = c.identity;
    return [el('Arn', id.arn ?? ''), el('UserId', id.userId ?? ''), el('Account', c.store.account)];
  },
  async GetSessionToken(c) {
    const duration = optionalInt(c, 'DurationSeconds', 900, 129_600) ?? 43_200;
    return [credentialsXml(sessionOf(c, duration, undefined))];
  },
  async AssumeRole(c) {
    const roleArn = need(c, 'RoleArn');
    const sessionName = need(c, 'RoleSessionName');
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) throw new IamError('ValidationError', 'RoleSessionName must be 2 to 64 characters of letters, digits and _+=,.@-.');
    if (!/^arn:aws:iam::[\w-]*:role\/[\x21-\x7e]{1,512}$/.test(roleArn)) throw new IamError('ValidationError', `RoleArn "${roleArn.slice(0, 100)}" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME).`);
    const duration = optionalInt(c, 'DurationSeconds', 900, 43_200) ?? 3_600;
    const s = sessionOf(c, duration, c.params.get('Policy'));
    const role = roleArn.slice(roleArn.indexOf(':role/') + 6);
    return [credentialsXml(s), el('AssumedRoleUser', el('AssumedRoleId', `${c.identity.userId ?? 'root'}:${sessionName}`), el('Arn', `arn:aws:sts::${c.store.account}:assumed-role/${role}/${sessionName}`))];
  },
};
