// How IAM's query API writes its entities (the members awscli and the SDKs read).
import type { GroupRecord, ManagedPolicyRecord, UserRecord } from '../../iam/records.js';
import type { IamStore, Snapshot } from '../../iam/store.js';
import { isoTime } from '../respond.js';
import { el, type XmlElement } from '../xml.js';

export function userXml(store: IamStore, u: UserRecord, name = 'User'): XmlElement {
  return el(name, el('Path', u.path), el('UserName', u.name), el('UserId', u.id), el('Arn', store.arn('user', u)), el('CreateDate', isoTime(u.created)));
}

export function groupXml(store: IamStore, g: GroupRecord, name = 'Group'): XmlElement {
  return el(name, el('Path', g.path), el('GroupName', g.name), el('GroupId', g.id), el('Arn', store.arn('group', g)), el('CreateDate', isoTime(g.created)));
}

export function attachments(snap: Snapshot, policy: string): number {
  const k = policy.toLowerCase();
  let n = 0;
  for (const u of snap.users.values()) if (u.attached.some((a) => a.toLowerCase() === k)) n++;
  for (const g of snap.groups.values()) if (g.attached.some((a) => a.toLowerCase() === k)) n++;
  return n;
}

export function policyXml(store: IamStore, snap: Snapshot, p: ManagedPolicyRecord, name = 'Policy'): XmlElement {
  return el(name,
    el('PolicyName', p.name), el('PolicyId', p.id), el('Arn', store.arn('policy', p)), el('Path', p.path),
    el('DefaultVersionId', 'v1'), el('AttachmentCount', attachments(snap, p.name)), el('PermissionsBoundaryUsageCount', 0),
    el('IsAttachable', 'true'), p.description !== '' ? el('Description', p.description) : null,
    el('CreateDate', isoTime(p.created)), el('UpdateDate', isoTime(p.updated)),
  );
}

/** IAM returns policy documents URL-encoded (RFC 3986), as AWS does. */
export function encodeDocument(doc: string): string {
  return encodeURIComponent(doc);
}

export const members = (items: XmlElement[]): XmlElement[] => items.map((i) => ({ ...i, name: 'member' }));
