// Authentication: who signed the request (SigV4 in the Authorization header, or a presigned URL;
// nobody for an unsigned one) and how its body is vouched for (a SHA-256 checked once read,
// unsigned, or a chunked stream whose chunks carry their own signatures). Nothing here reads the
// body.
import { createHash } from 'node:crypto';
import { ANONYMOUS, type Principal } from '../iam/principals.js';
import { S3Error } from './errors.js';
import { header, type S3Request } from './request.js';
import {
  ALGORITHM, canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, parseAmzDate, sameSignature, signatureOf,
  signingKey, stringToSign, toAmzDate,
} from './sigv4.js';

/** Who is making a request, as the authorizer sees it. */
export type Identity = Principal;

/** Where secrets come from: the root credentials, and the volume's identity store. A session
 * key's token is checked here (throwing S3Error for a bad or expired one). */
export interface CredentialStore {
  lookup(accessKey: string, sessionToken: string | undefined): Promise<{ secret: string; identity: Identity } | null>;
}

/** The services whose requests this endpoint verifies: S3, and the IAM and STS query APIs. */
export type Service = 's3' | 'iam' | 'sts';
const SERVICES: readonly string[] = ['s3', 'iam', 'sts'];

/** How the body's integrity is established. */
export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; expected: string }
  | { kind: 'chunked'; trailer: boolean; signing: ChunkSigning | null };

/** What verifying a signed chunked body needs: each chunk's signature chains from the previous. */
export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seed: string;
}

export interface AuthResult {
  identity: Identity;
  payload: PayloadMode;
  /** Which API the signature was made for ('s3' for anonymous requests). */
  service: Service;
  /** The body, when it had to be read to check the signature (IAM/STS forms). */
  body?: Buffer;
}

export const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const STREAMING = new Map<string, { trailer: boolean; signed: boolean }>([
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { trailer: false, signed: true }],
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { trailer: true, signed: true }],
  ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { trailer: true, signed: false }],
]);

interface Signed {
  accessKey: string;
  day: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  timeMs: number;
}

function malformedHeader(why: string): never {
  throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}.`);
}

function malformedQuery(why: string): never {
  throw new S3Error('AuthorizationQueryParametersError', `The presigned URL is malformed; ${why}.`);
}

/** "AK/20130524/us-east-1/s3/aws4_request" (also the x-amz-credential field of a form upload). */
export function parseCredential(value: string, bad: (why: string) => never): { accessKey: string; day: string; region: string; service: string } {
  const parts = value.split('/');
  if (parts.length < 5) bad(`the Credential "${value}" must be ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request`);
  // The access key itself may not hold a slash, but be lenient about everything before the scope.
  const [day, region, service, terminal] = parts.slice(-4);
  const accessKey = parts.slice(0, -4).join('/');
  if (!/^\d{8}$/.test(day)) bad(`the credential date "${day}" is not YYYYMMDD`);
  if (terminal !== 'aws4_request') bad(`the credential scope must end in "aws4_request", not "${terminal}"`);
  if (!SERVICES.includes(service)) bad(`the credential scope names service "${service}"; this endpoint serves "s3", "iam" and "sts"`);
  if (region === '') bad('the credential scope has no region');
  return { accessKey, day, region, service };
}

function parseSignedHeaders(value: string, bad: (why: string) => never): string[] {
  const names = value.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase())) bad(`SignedHeaders "${value}" must be lowercase names separated by ";"`);
  if (!names.includes('host')) bad('the host header must be signed');
  return names;
}

function fromHeader(req: S3Request, auth: string): Signed {
  if (auth.startsWith('AWS ')) throw new S3Error('InvalidRequest', 'Signature Version 2 is not supported; sign requests with AWS Signature Version 4.');
  if (!auth.startsWith(`${ALGORITHM} `)) malformedHeader(`the algorithm must be ${ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of auth.slice(ALGORITHM.length + 1).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) malformedHeader(`"${p}" is not NAME=VALUE`);
    fields.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) malformedHeader('Credential, SignedHeaders and Signature are all required');
  if (!/^[0-9a-f]{64}$/.test(signature)) malformedHeader('the Signature must be 64 lowercase hex digits');
  const cred = parseCredential(credential, malformedHeader);
  const amz = header(req, 'x-amz-date');
  let amzDate: string;
  let timeMs: number;
  if (amz !== undefined) {
    amzDate = amz;
    timeMs = parseAmzDate(amz);
    if (Number.isNaN(timeMs)) throw new S3Error('AccessDenied', `X-Amz-Date "${amz}" is not a valid date (expected YYYYMMDDTHHMMSSZ).`);
  } else {
    const date = header(req, 'date');
    timeMs = date === undefined ? NaN : Date.parse(date);
    if (Number.isNaN(timeMs)) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header.');
    amzDate = toAmzDate(timeMs);
  }
  if (cred.day !== amzDate.slice(0, 8)) malformedHeader(`the credential date ${cred.day} is not the date of the request (${amzDate.slice(0, 8)})`);
  return { ...cred, signedHeaders: parseSignedHeaders(signedHeaders, malformedHeader), signature, amzDate, timeMs };
}

function fromQuery(req: S3Request): Signed & { expires: number } {
  const q = req.query;
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) malformedQuery(`X-Amz-Algorithm must be ${ALGORITHM}`);
  const credential = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const expiresRaw = q.get('X-Amz-Expires');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!credential || !amzDate || !expiresRaw || !signedHeaders || !signature) {
    malformedQuery('X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature are all required');
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) malformedQuery('X-Amz-Signature must be 64 lowercase hex digits');
  const expires = /^\d{1,7}$/.test(expiresRaw) ? Number(expiresRaw) : NaN;
  // AWS refuses an expiry out of range as it refuses an expired URL.
  if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) throw new S3Error('AccessDenied', `X-Amz-Expires must be 1..${MAX_PRESIGN_SECONDS} seconds, got "${expiresRaw.slice(0, 40)}".`);
  const timeMs = parseAmzDate(amzDate);
  if (Number.isNaN(timeMs)) malformedQuery(`X-Amz-Date "${amzDate}" is not YYYYMMDDTHHMMSSZ`);
  const cred = parseCredential(credential, malformedQuery);
  if (cred.day !== amzDate.slice(0, 8)) malformedQuery(`the credential date ${cred.day} is not the date of X-Amz-Date`);
  return { ...cred, signedHeaders: parseSignedHeaders(signedHeaders, malformedQuery), signature, amzDate, timeMs, expires };
}

/** The x-amz-* headers of a request that are not among those signed (lowercase, once each). */
function unsignedAmzHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): string[] {
  const out = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) out.add(name);
  }
  return [...out];
}

/** Verify the request's signature, made for `region`; returns who signed it and how the body is
 * to be checked. */
export async function authenticate(req: S3Request, store: CredentialStore, nowMs: number, region: string, readSmallBody?: () => Promise<Buffer>): Promise<AuthResult> {
  const auth = header(req, 'authorization');
  const presigned = req.query.has('X-Amz-Signature') || req.query.has('X-Amz-Credential');
  if (auth !== undefined && presigned) throw new S3Error('InvalidArgument', 'Only one authentication mechanism allowed: the Authorization header or presigned query parameters, not both.');
  // Unsigned: an anonymous request, which only a bucket policy can allow.
  if (auth === undefined && !presigned) return { identity: ANONYMOUS, payload: { kind: 'unsigned' }, service: 's3' };

  let signed: Signed;
  let payloadHash: string;
  let mode: PayloadMode;
  let preread: Buffer | undefined;
  if (auth !== undefined) {
    signed = fromHeader(req, auth);
    if (Math.abs(nowMs - signed.timeMs) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', `The difference between the request time (${new Date(signed.timeMs).toISOString()}) and the server's time (${new Date(nowMs).toISOString()}) is more than 15 minutes.`);
    }
    const declared = header(req, 'x-amz-content-sha256');
    if (declared === undefined && signed.service !== 's3' && readSmallBody) {
      // The IAM and STS signers hash the (small, form) body into the signature without saying
      // so in a header: the body is read first, and its hash is what the signature covers.
      preread = await readSmallBody();
      payloadHash = createHash('sha256').update(preread).digest('hex');
    } else if (declared === undefined) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256.');
    } else {
      payloadHash = declared;
    }
    const streaming = STREAMING.get(payloadHash);
    if (preread !== undefined) {
      mode = { kind: 'unsigned' };
    } else if (streaming) {
      mode = { kind: 'chunked', trailer: streaming.trailer, signing: null };
    } else if (payloadHash === 'UNSIGNED-PAYLOAD') {
      mode = { kind: 'unsigned' };
    } else if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      mode = { kind: 'sha256', expected: payloadHash };
    } else {
      throw new S3Error('InvalidArgument', `x-amz-content-sha256 must be a lowercase hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* value, got "${payloadHash}".`);
    }
  } else {
    const p = fromQuery(req);
    signed = p;
    if (nowMs > p.timeMs + p.expires * 1000) throw new S3Error('AccessDenied', 'Request has expired.', { 'X-Amz-Expires': String(p.expires), Expires: new Date(p.timeMs + p.expires * 1000).toISOString() });
    if (p.timeMs - nowMs > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet: X-Amz-Date is in the future.');
    payloadHash = req.query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
    mode = /^[0-9a-f]{64}$/.test(payloadHash) ? { kind: 'sha256', expected: payloadHash } : { kind: 'unsigned' };
  }

  // IAM and STS are global services: AWS's SDKs sign them for us-east-1 whatever region they use.
  const global = signed.service !== 's3' && signed.region === 'us-east-1';
  if (signed.region !== region && !global) {
    const why = `the region '${signed.region.slice(0, 40)}' is wrong; expecting '${region}'`;
    if (presigned) throw new S3Error('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${why}.`, { Region: region });
    throw new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}.`, { Region: region });
  }
  const token = presigned ? req.query.get('X-Amz-Security-Token') : header(req, 'x-amz-security-token');
  const found = await store.lookup(signed.accessKey, token);
  if (!found) throw new S3Error('InvalidAccessKeyId', `The access key id "${signed.accessKey}" does not exist in our records.`);
  const headers = canonicalHeaders(req.rawHeaders, signed.signedHeaders);
  if (headers === null) throw new S3Error('SignatureDoesNotMatch', 'A header named in SignedHeaders is missing from the request.');
  const canonical = canonicalRequest(
    req.method, canonicalUri(req.path), canonicalQuery(req.params, presigned ? 'X-Amz-Signature' : undefined),
    headers, signed.signedHeaders.join(';'), payloadHash,
  );
  const scope = `${signed.day}/${signed.region}/${signed.service}/aws4_request`;
  const key = signingKey(found.secret, signed.day, signed.region, signed.service);
  const expected = signatureOf(key, stringToSign(signed.amzDate, scope, canonical));
  if (!sameSignature(expected, signed.signature)) throw new S3Error('SignatureDoesNotMatch');
  // An x-amz-* header changes what a request does (a copy source, metadata, ACLs): one the signer
  // did not sign could have been added by anyone on the way, so it is refused, as AWS does.
  const unsigned = unsignedAmzHeaders(req.rawHeaders, signed.signedHeaders);
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed.', { HeadersNotSigned: unsigned.join(', ').slice(0, 500) });
  }
  if (mode.kind === 'chunked' && STREAMING.get(payloadHash)?.signed) {
    mode = { ...mode, signing: { key, amzDate: signed.amzDate, scope, seed: signed.signature } };
  }
  return { identity: found.identity, payload: mode, service: signed.service as Service, ...(preread !== undefined ? { body: preread } : {}) };
}
