// Continuation tokens: opaque to clients, they carry where a listing stopped. A token is checked
// to be one this gateway made (for this kind of listing) before it is believed.
import { S3Error } from './errors.js';

export function encodeToken(kind: string, after: string): string {
  return Buffer.from(`${kind}:${after}`, 'utf8').toString('base64url');
}

/** Where the listing resumes, or InvalidArgument for a token this gateway did not make. */
export function decodeToken(kind: string, token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(`${kind}:`) || Buffer.from(text, 'utf8').toString('base64url') !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect.', { ArgumentName: 'continuation-token', ArgumentValue: token.slice(0, 200) });
  }
  return text.slice(kind.length + 1);
}
