// The POST policy of a browser form upload (AWS Signature Version 4): a base64 JSON document of
// conditions on the form, signed with the signer's SigV4 key. Its signature says who uploads;
// the document is then held against the form before any byte of the file is stored: unexpired,
// every condition met, and no field it does not cover (a field the signer did not foresee could
// have been added by anyone holding the form).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseCredential, type CredentialStore, type Identity } from './auth.js';
import { S3Error } from './errors.js';
import { ALGORITHM, parseAmzDate, sameSignature, signatureOf, signingKey } from './sigv4.js';

/** The fields that sign a form: a form with any of them is a signed one and needs them all. */
export const SIGNING_FIELDS = ['policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'] as const;

/** S3's bound on the (base64) policy document. */
export const MAX_POLICY_BYTES = 20 * 1024;

/** The fields that sign a form the older way (Signature Version 2, which AWS still documents
 * for browser uploads): the key id and the base64 HMAC-SHA1 of the policy. */
export const SIGNING_FIELDS_V2 = ['awsaccesskeyid', 'policy', 'signature'] as const;

/** Fields no condition needs to cover: the policy, its signature, and the file. */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'file', 'awsaccesskeyid', 'signature']);

/** The file sizes the policy allows (content-length-range; any size when it says nothing). */
export interface LengthRange {
  min: number;
  max: number;
}

type Condition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { op: 'content-length-range'; min: number; max: number };

export interface PostPolicy {
  /** Epoch ms after which the policy is refused. */
  expiration: number;
  conditions: Condition[];
}

/** What the conditions are held against. */
export interface FormValues {
  /** The fields before the file, names lowercased. */
  fields: ReadonlyMap<string, string>;
  /** The bucket the form was posted to ($bucket). */
  bucket: string;
  /** The key the object gets, ${filename} replaced ($key is checked after the replacement). */
  key: string;
}

export function missingField(name: string): S3Error {
  return new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'. If it is specified, please check the order of the fields (every field must come before the file).`, { ArgumentName: name });
}

function badField(name: string, value: string, why: string, extra: Record<string, string> = {}): S3Error {
  return new S3Error('InvalidArgument', `The form field ${name} is not valid: ${why}.`, { ArgumentName: name, ArgumentValue: value.slice(0, 200), ...extra });
}

/** Who signed the form's policy: the signing fields checked, the secret of the credential's key
 * looked up (with x-amz-security-token for session keys), the signature compared. */
export async function verifyPolicySignature(fields: ReadonlyMap<string, string>, region: string, credentials: CredentialStore): Promise<Identity> {
  for (const name of SIGNING_FIELDS) if (!fields.has(name)) throw missingField(name);
  const field = (name: string) => fields.get(name) ?? '';
  const algorithm = field('x-amz-algorithm');
  if (algorithm !== ALGORITHM) throw badField('x-amz-algorithm', algorithm, `it must be ${ALGORITHM}`);
  const credential = field('x-amz-credential');
  const cred = parseCredential(credential, (why) => { throw badField('x-amz-credential', credential, why); });
  if (cred.service !== 's3') throw badField('x-amz-credential', credential, `its scope names service "${cred.service}"; a form upload is signed for "s3"`);
  if (cred.region !== region) {
    throw badField('x-amz-credential', credential, `the region '${cred.region.slice(0, 40)}' is wrong; expecting '${region}'`, { Region: region });
  }
  const amzDate = field('x-amz-date');
  if (Number.isNaN(parseAmzDate(amzDate))) throw badField('x-amz-date', amzDate, 'it is not a date of the form YYYYMMDDTHHMMSSZ');
  if (cred.day !== amzDate.slice(0, 8)) throw badField('x-amz-credential', credential, `its date ${cred.day} is not the date of x-amz-date (${amzDate.slice(0, 8)})`);
  const found = await credentials.lookup(cred.accessKey, fields.get('x-amz-security-token'));
  if (!found) throw new S3Error('InvalidAccessKeyId', `The access key id "${cred.accessKey.slice(0, 128)}" of x-amz-credential does not exist in our records.`);
  const expected = signatureOf(signingKey(found.secret, cred.day, cred.region, 's3'), field('policy'));
  if (!sameSignature(expected, field('x-amz-signature'))) {
    throw new S3Error('SignatureDoesNotMatch', 'The x-amz-signature field does not match the policy: it must be the hex HMAC-SHA256 of the policy field exactly as sent, with the SigV4 signing key of the credential\'s secret, date, region and "s3".');
  }
  return found.identity;
}

/** Who signed the form's policy with Signature Version 2. */
export async function verifyPolicySignatureV2(fields: ReadonlyMap<string, string>, credentials: CredentialStore): Promise<Identity> {
  for (const name of SIGNING_FIELDS_V2) if (!fields.has(name)) throw missingField(name);
  const accessKey = fields.get('awsaccesskeyid') ?? '';
  const found = await credentials.lookup(accessKey, fields.get('x-amz-security-token'));
  if (!found) throw new S3Error('InvalidAccessKeyId', `The access key id "${accessKey.slice(0, 128)}" of AWSAccessKeyId does not exist in our records.`);
  const expected = createHmac('sha1', found.secret).update(fields.get('policy') ?? '', 'utf8').digest();
  const given = Buffer.from(fields.get('signature') ?? '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3Error('SignatureDoesNotMatch', 'The signature field does not match the policy: it must be the base64 HMAC-SHA1 of the policy field exactly as sent, with the secret of AWSAccessKeyId.');
  }
  return found.identity;
}

function invalid(why: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${why}.`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A content-length-range bound: a whole number of bytes (JSON number or digit string). */
function bound(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${where}: content-length-range bounds must be whole numbers of bytes, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return n;
}

function parseCondition(c: unknown, i: number): Condition {
  const where = `condition ${i + 1}`;
  const text = JSON.stringify(c)?.slice(0, 300) ?? '';
  if (isRecord(c)) {
    const entries = Object.entries(c);
    if (entries.length !== 1) throw invalid(`${where} ${text}: a simple condition names exactly one field`);
    const [field, value] = entries[0];
    if (typeof value !== 'string') throw invalid(`${where} ${text}: the value must be a string`);
    return { op: 'eq', field: field.toLowerCase(), value, text };
  }
  if (!Array.isArray(c) || typeof c[0] !== 'string') throw invalid(`${where} ${text}: a condition is {"field": "value"} or ["operation", ...]`);
  const op = c[0].toLowerCase();
  if (c.length !== 3) throw invalid(`${where} ${text}: a condition array has three elements`);
  if (op === 'content-length-range') {
    const min = bound(c[1], where);
    const max = bound(c[2], where);
    if (min > max) throw invalid(`${where} ${text}: the minimum is above the maximum`);
    return { op, min, max };
  }
  if (op !== 'eq' && op !== 'starts-with') throw invalid(`${where} ${text}: unknown operation "${op.slice(0, 40)}" (eq, starts-with and content-length-range are)`);
  if (typeof c[1] !== 'string' || !c[1].startsWith('$') || c[1].length < 2) throw invalid(`${where} ${text}: the field must be named as "$name"`);
  if (typeof c[2] !== 'string') throw invalid(`${where} ${text}: the value must be a string`);
  return { op, field: c[1].slice(1).toLowerCase(), value: c[2], text };
}

/** "2030-01-01T12:00:00.000Z" (ISO 8601, UTC or an offset). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Decode the policy field; InvalidPolicyDocument when it is not a policy. */
export function parsePostPolicy(encoded: string): PostPolicy {
  if (Buffer.byteLength(encoded) > MAX_POLICY_BYTES) {
    throw new S3Error('MaxPostPreDataLengthExceeded', `The policy field is ${Buffer.byteLength(encoded)} bytes; at most ${MAX_POLICY_BYTES} are allowed.`);
  }
  // Some encoders wrap base64 in lines.
  const compact = encoded.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw invalid('the policy field is not base64');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
  } catch {
    throw invalid('the decoded policy is not JSON');
  }
  if (!isRecord(doc)) throw invalid('the policy is not a JSON object');
  const exp = doc.expiration;
  if (exp === undefined) throw invalid('the policy has no "expiration"');
  const expiration = typeof exp === 'string' && ISO_8601.test(exp) ? Date.parse(exp) : NaN;
  if (Number.isNaN(expiration)) throw invalid(`"expiration" must be an ISO 8601 time such as 2030-01-01T12:00:00.000Z, got ${JSON.stringify(exp).slice(0, 60)}`);
  if (!Array.isArray(doc.conditions)) throw invalid('the policy has no "conditions" array');
  return { expiration, conditions: doc.conditions.map(parseCondition) };
}

function denied(why: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);
}

function valueOf(form: FormValues, field: string): string | undefined {
  if (field === 'bucket') return form.bucket;
  if (field === 'key') return form.key;
  return form.fields.get(field);
}

function holds(c: Extract<Condition, { field: string }>, value: string): boolean {
  if (c.op === 'eq') return value === c.value;
  // A Content-Type may list several types: each must start with the prefix.
  if (c.field === 'content-type') return value.split(',').every((v) => v.trim().startsWith(c.value));
  return value.startsWith(c.value);
}

/** Hold the policy against the form; returns the file sizes it allows. */
export function checkPostPolicy(policy: PostPolicy, form: FormValues, nowMs: number): LengthRange {
  if (nowMs > policy.expiration) throw denied('Policy expired.');
  const range: LengthRange = { min: 0, max: Number.POSITIVE_INFINITY };
  const covered = new Set<string>();
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range.min = Math.max(range.min, c.min);
      range.max = Math.min(range.max, c.max);
      continue;
    }
    covered.add(c.field);
    const value = valueOf(form, c.field);
    if (value === undefined || !holds(c, value)) throw denied(`Policy Condition failed: ${c.text}`);
  }
  const extra = [...form.fields.keys()].filter((name) => !covered.has(name) && !EXEMPT.has(name) && !name.startsWith('x-ignore-'));
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(', ').slice(0, 500)}`);
  return range;
}
