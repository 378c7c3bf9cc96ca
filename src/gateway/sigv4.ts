// AWS Signature Version 4 as S3 applies it: the canonical request rebuilt from what arrived
// (decoded, then encoded the one way the specification allows), the string to sign, and the
// signing key (cached per secret, day and region: deriving it costs four HMACs).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ (and '/' in paths). */
export function uriEncode(s: string, keepSlash: boolean): string {
  const out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? out.replace(/%2F/g, '/') : out;
}

/** The canonical URI of an S3 request: the decoded path encoded once (S3 does not double-encode). */
export function canonicalUri(decodedPath: string): string {
  return uriEncode(decodedPath, true);
}

/** One query parameter as it arrived (raw) and decoded. */
export interface QueryParam { name: string; value: string }

/** The canonical query string: names and values encoded, sorted by name then value. */
export function canonicalQuery(params: readonly QueryParam[], exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params) {
    if (p.name === exclude) continue;
    pairs.push([uriEncode(p.name, false), uriEncode(p.value, false)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `name:value\n` per signed header, values trimmed with inner runs of spaces folded; a header
 * sent several times has its values joined by commas in the order they came. */
export function canonicalHeaders(rawHeaders: readonly string[], signed: readonly string[]): string | null {
  const values = new Map<string, string[]>();
  for (const name of signed) values.set(name, []);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const list = values.get(rawHeaders[i].toLowerCase());
    if (list) list.push(rawHeaders[i + 1].trim().replace(/\s+/g, ' '));
  }
  let out = '';
  for (const name of signed) {
    const list = values.get(name) as string[];
    // A signed header that is not there cannot be verified.
    if (list.length === 0) return null;
    out += `${name}:${list.join(',')}\n`;
  }
  return out;
}

export function canonicalRequest(method: string, uri: string, query: string, headers: string, signedHeaders: string, payloadHash: string): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}

/** `canonical` is hashed as the bytes the client signed: node:http hands header values over one
 * character per byte (latin1), and everything else in a canonical request is ASCII (the URI and
 * query are percent-encoded) — so a UTF-8 value such as non-ASCII user metadata is hashed as
 * sent, not encoded a second time. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(Buffer.from(canonical, 'latin1'))}`;
}

const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 256;

/** kSigning = HMAC chain over the day, region, service and "aws4_request". */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\0${day}\0${region}\0${service}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(cacheKey, key);
  }
  return key;
}

export function signatureOf(key: Buffer, toSign: string): string {
  return hmac(key, toSign).toString('hex');
}

/** Constant-time comparison of two hex signatures. */
export function sameSignature(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

/** The string to sign for one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body. */
export function chunkStringToSign(amzDate: string, scope: string, previous: string, chunkHash: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${chunkHash}`;
}

/** The string to sign for the trailing headers of a signed streaming body. */
export function trailerStringToSign(amzDate: string, scope: string, previous: string, trailerHash: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previous}\n${trailerHash}`;
}

/** "20130524T000000Z" → epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Date.UTC rolls 31 February over; a real timestamp survives the round trip.
  const back = new Date(t);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || se > 59) return NaN;
  return t;
}

export function toAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
