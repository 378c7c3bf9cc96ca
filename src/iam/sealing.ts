// Secrets of the identity store (users' secret keys, service accounts' secret keys) are sealed
// before they reach metadata, and temporary credentials are sealed into their session token.
// The key is derived from the gateway's root secret key, which every gateway of the volume is
// given and the metadata never holds: someone with a metadata dump alone reads no secret.
// (MinIO seals its IAM data with its root credentials the same way.)
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealingError extends Error {}

export class Sealer {
  readonly #key: Buffer;

  /** `salt` is the store's own (random, kept beside the store) so that two volumes with the same
   * root secret do not share a key. Derivation is slow on purpose (scrypt): once per process. */
  constructor(rootSecret: string, salt: Buffer) {
    this.#key = scryptSync(rootSecret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  }

  /** `purpose` binds the ciphertext to what it is: a blob sealed as one thing opens as no other. */
  seal(plain: string, purpose: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(purpose));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** Throws SealingError when the blob is damaged, sealed for another purpose or with another key. */
  open(sealed: string, purpose: string): string {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SealingError('the sealed value is too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(purpose));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealingError('the sealed value does not open with this key (another root secret key, or damaged)');
    }
  }
}
