// Storage credentials kept in a volume's settings, so that every client of the volume reaches its
// bucket without being told the keys. Stored as JSON, or with `--encrypt-keys` sealed with
// AES-256-GCM under a key derived (scrypt) from a secret the volume does not hold: the STRATA_KEY
// environment variable or a key file. Someone with the metadata alone cannot read the sealed form.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errnoError, fromSystemError } from '../errors/errno.js';

export interface StorageCredentials {
  accessKey: string;
  secretKey: string;
}

/** Environment variables holding the secret that seals credentials (or the path of a file with it). */
export const KEY_ENV = 'STRATA_KEY';
export const KEY_FILE_ENV = 'STRATA_KEY_FILE';

const SEALED = 'sealed:v1:';
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Binds the ciphertext to its purpose: a blob sealed for something else does not open here.
const AAD = Buffer.from('strata storage credentials v1');

export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED);
}

function deriveKey(secret: string, salt: Buffer): Buffer {
  return scryptSync(secret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

/** The secret from `--key-file FILE`, else STRATA_KEY, else STRATA_KEY_FILE; undefined when none. */
export function loadSealingKey(options: { keyFile?: string; env?: NodeJS.ProcessEnv } = {}): string | undefined {
  const env = options.env ?? process.env;
  const file = options.keyFile ?? (env[KEY_ENV] ? undefined : env[KEY_FILE_ENV]);
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw fromSystemError(err, 'open', file, 'cannot read the key file');
    }
    const secret = text.trim();
    if (secret === '') throw errnoError('EINVAL', 'open', file, 'the key file is empty');
    return secret;
  }
  const secret = env[KEY_ENV];
  return secret === undefined || secret === '' ? undefined : secret;
}

/** `plain` sealed under `secret` for `purpose` (the same purpose opens it): the form settings keep. */
export function sealText(plain: string, secret: string, purpose: Buffer = AAD): string {
  if (secret.length < 8) throw errnoError('EINVAL', 'format', undefined, `the key that encrypts secrets must be at least 8 characters (${KEY_ENV} or --key-file)`);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, salt), iv);
  cipher.setAAD(purpose);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return SEALED + Buffer.concat([salt, iv, cipher.getAuthTag(), body]).toString('base64');
}

/** What sealText sealed; null when `key` does not open it (another key, or damaged). */
export function openSealedText(stored: string, key: string, purpose: Buffer = AAD): string | null {
  const raw = Buffer.from(stored.slice(SEALED.length), 'base64');
  if (raw.length < SALT_BYTES + IV_BYTES + TAG_BYTES) return null;
  const salt = raw.subarray(0, SALT_BYTES);
  const iv = raw.subarray(SALT_BYTES, SALT_BYTES + IV_BYTES);
  const tag = raw.subarray(SALT_BYTES + IV_BYTES, SALT_BYTES + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(key, salt), iv);
    decipher.setAAD(purpose);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(raw.subarray(SALT_BYTES + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** The form stored in settings: JSON, or sealed when `secret` is given. */
export function storeCredentials(c: StorageCredentials, secret?: string): string {
  const json = JSON.stringify({ accessKey: c.accessKey, secretKey: c.secretKey });
  return secret === undefined ? json : sealText(json, secret);
}

/**
 * The credentials a volume stores. Sealed ones need the secret; without it (or with the wrong
 * one) EACCES says which variable or flag supplies it.
 */
export function readStoredCredentials(stored: string, volume: string, secret: () => string | undefined): StorageCredentials {
  let json: string;
  if (isSealed(stored)) {
    const key = secret();
    const how = `set ${KEY_ENV} to the key given to "strata format --encrypt-keys" (or ${KEY_FILE_ENV} / --key-file to a file holding it)`;
    if (key === undefined) throw errnoError('EACCES', 'open', volume, `the volume's storage credentials are encrypted and no key was given: ${how}`);
    const opened = openSealedText(stored, key);
    if (opened === null) throw errnoError('EACCES', 'open', volume, `the key given does not decrypt the volume's storage credentials: ${how}`);
    json = opened;
  } else {
    json = stored;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw errnoError('EIO', 'open', volume, 'the stored storage credentials are damaged (not JSON)');
  }
  const c = parsed as Partial<StorageCredentials> | null;
  if (typeof c?.accessKey !== 'string' || typeof c.secretKey !== 'string') throw errnoError('EIO', 'open', volume, 'the stored storage credentials are damaged (no access key or secret key)');
  return { accessKey: c.accessKey, secretKey: c.secretKey };
}

/** How status shows stored credentials: whether there are any and how they are kept, never them. */
export function describeStoredCredentials(stored: string | undefined): string {
  if (stored === undefined || stored === '') return 'none stored';
  return isSealed(stored) ? 'stored, encrypted' : 'stored';
}
