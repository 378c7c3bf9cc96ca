// The group's secret: made by the first member, kept in the volume's metadata (rows of this
// engine only; never logged or dumped), sealed under STRATA_KEY when the volume's clients have
// one, as stored credentials are. Members derive their request key from it (token.ts).
import { randomBytes } from 'node:crypto';
import { errnoError } from '../errors/errno.js';
import type { Meta } from '../meta/meta.js';
import { isSealed, KEY_ENV, openSealedText, sealText } from '../object/s3-credentials.js';

const PURPOSE = Buffer.from('strata cache group secret v1');

export async function loadGroupSecret(meta: Meta, group: string, sealingKey: string | undefined): Promise<string> {
  const fresh = randomBytes(32).toString('base64url');
  const stored = await meta.groupSecret(group, sealingKey === undefined ? fresh : sealText(fresh, sealingKey, PURPOSE));
  if (!isSealed(stored)) return stored;
  const how = `give the key the group's first member had (${KEY_ENV} or --key-file)`;
  if (sealingKey === undefined) throw errnoError('EACCES', 'cache-group', group, `the secret of cache group "${group}" is encrypted and no key was given: ${how}`);
  const plain = openSealedText(stored, sealingKey, PURPOSE);
  if (plain === null) throw errnoError('EACCES', 'cache-group', group, `the key given does not decrypt the secret of cache group "${group}": ${how}`);
  return plain;
}
