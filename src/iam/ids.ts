// Identifiers in AWS's shapes: access keys ("AKIA" + 16), temporary ones ("ASIA" + 16), unique
// ids ("AIDA"/"AGPA"/"ANPA" + 17), secret keys (40 characters), and the volume's account id.
import { createHash, randomBytes } from 'node:crypto';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomUpper(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += UPPER[b & 31];
  return out;
}

export const newAccessKey = (): string => `AKIA${randomUpper(16)}`;
export const newSessionKey = (): string => `ASIA${randomUpper(16)}`;
export const isSessionKey = (accessKey: string): boolean => accessKey.startsWith('ASIA');
export const newSecretKey = (): string => randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
export const newUniqueId = (prefix: 'AIDA' | 'AGPA' | 'ANPA'): string => `${prefix}${randomUpper(17)}`;

/** A volume is one account: its id is derived from the volume's uuid, stable across gateways. */
export function accountOf(volumeUuid: string): string {
  const digest = createHash('sha256').update(`strata account ${volumeUuid}`).digest();
  return (digest.readBigUInt64BE(0) % 1_000_000_000_000n).toString().padStart(12, '0');
}
