// Temporary credentials (STS AssumeRole, GetSessionToken). Nothing is stored: the session token
// is the session itself (its secret key, user, expiry and session policy), sealed with the
// store's key, so any gateway of the volume checks it and a client cannot alter it. Revoking a
// user (delete or disable) ends its sessions at once, since each request checks the user.
import { newSecretKey, newSessionKey } from './ids.js';
import { IamError } from './records.js';
import { SealingError } from './sealing.js';
import type { IamStore } from './store.js';

const PURPOSE = 'strata sts session v1';

export interface Session {
  accessKey: string;
  secretKey: string;
  /** null: a session of the root credentials. */
  user: string | null;
  /** The user's unique id: a user deleted and made again under the same name is not it. */
  userId?: string;
  /** The long-term key that asked for the session: deleting or deactivating it ends the session. */
  issuedBy?: string;
  serviceAccount?: string;
  policy?: string;
  expires: number;
}

export interface IssuedSession {
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  expires: number;
}

export function issueSession(store: IamStore, of: Omit<Session, 'accessKey' | 'secretKey' | 'expires'>, durationSeconds: number): IssuedSession {
  const s: Session = { ...of, accessKey: newSessionKey(), secretKey: newSecretKey(), expires: store.nowMs() + durationSeconds * 1000 };
  return { accessKey: s.accessKey, secretKey: s.secretKey, sessionToken: store.sealer.seal(JSON.stringify(s), PURPOSE), expires: s.expires };
}

/** Opened tokens, so a session's requests do not each pay for the decryption. */
const opened = new WeakMap<IamStore, Map<string, Session>>();
const OPENED_MAX = 4096;

export function openSession(store: IamStore, token: string): Session {
  if (token.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new IamError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
  let cache = opened.get(store);
  if (!cache) {
    cache = new Map();
    opened.set(store, cache);
  }
  const hit = cache.get(token);
  if (hit) return hit;
  try {
    const s = JSON.parse(store.sealer.open(token, PURPOSE)) as Session;
    if (cache.size >= OPENED_MAX) cache.clear();
    cache.set(token, s);
    return s;
  } catch (err) {
    if (err instanceof SealingError || err instanceof SyntaxError) throw new IamError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400);
    throw err;
  }
}
