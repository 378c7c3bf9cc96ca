// Where the gateway finds a request's secret: its root credentials, else the volume's identity
// store (users' keys, service accounts, session keys with their tokens).
import { timingSafeEqual } from 'node:crypto';
import { resolveAccessKey, rootPrincipal } from '../iam/principals.js';
import { IamError } from '../iam/records.js';
import type { IamStore } from '../iam/store.js';
import type { CredentialStore } from './auth.js';
import { S3Error } from './errors.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function gatewayCredentials(root: { accessKey: string; secretKey: string }, store: IamStore | null): CredentialStore {
  return {
    async lookup(accessKey, sessionToken) {
      if (same(accessKey, root.accessKey)) {
        if (sessionToken !== undefined) throw new S3Error('InvalidToken', 'A session token was sent with the root credentials.');
        return { secret: root.secretKey, identity: rootPrincipal(store, root.accessKey) };
      }
      if (store === null) return null;
      try {
        const found = await resolveAccessKey(store, accessKey, sessionToken);
        return found && { secret: found.secret, identity: found.principal };
      } catch (err) {
        if (err instanceof IamError) throw new S3Error(err.code, err.message);
        throw err;
      }
    },
  };
}
