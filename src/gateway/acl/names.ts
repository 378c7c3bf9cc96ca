// Canonical ids as ACLs name callers, and the names that go with them (a grant shows its
// grantee's DisplayName; a grant to an id nobody has is refused, as S3 refuses it).
import type { IamStore, Snapshot } from '../../iam/store.js';
import { canonicalId } from './model.js';

const byStore = new WeakMap<Snapshot, Map<string, string>>();

/** Canonical id → display name of everyone the volume knows: its root and its users. */
export async function canonicalNames(store: IamStore): Promise<ReadonlyMap<string, string>> {
  const snap = await store.snapshot();
  let names = byStore.get(snap);
  if (!names) {
    names = new Map([[canonicalId({ kind: 'root', userId: null }, store.account)!, 'root']]);
    for (const u of snap.users.values()) names.set(canonicalId({ kind: 'user', userId: u.id }, store.account)!, u.name);
    byStore.set(snap, names);
  }
  return names;
}
