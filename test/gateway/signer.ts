// Signing raw requests in tests (for bodies no SDK sends: bad trailers, cut connections). The
// signing arithmetic is the gateway's own, which sigv4.test.ts checks against AWS's published
// examples; the requests are assembled here by hand.
import { canonicalHeaders, canonicalRequest, chunkStringToSign, sha256Hex, signatureOf, signingKey, stringToSign, toAmzDate, trailerStringToSign } from '../../src/gateway/sigv4.js';

export interface SignInput {
  method: string;
  /** Path as sent (already encoded) — S3 keys here are plain ASCII. */
  path: string;
  host: string;
  headers: Record<string, string>;
  payloadHash: string;
  accessKey: string;
  secretKey: string;
  timeMs?: number;
  region?: string;
  /** The canonical query string (names and values encoded, sorted), when the path has one. */
  query?: string;
}

export interface Signed {
  headers: Record<string, string>;
  signature: string;
  amzDate: string;
  scope: string;
  key: Buffer;
}

export function signHeaders(i: SignInput): Signed {
  const amzDate = toAmzDate(i.timeMs ?? Date.now());
  const day = amzDate.slice(0, 8);
  const region = i.region ?? 'us-east-1';
  const headers: Record<string, string> = { ...i.headers, host: i.host, 'x-amz-date': amzDate, 'x-amz-content-sha256': i.payloadHash };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const raw = Object.entries(headers).flatMap(([k, v]) => [k.toLowerCase(), v]);
  const canonical = canonicalRequest(i.method, i.path, i.query ?? '', canonicalHeaders(raw, names) as string, names.join(';'), i.payloadHash);
  const scope = `${day}/${region}/s3/aws4_request`;
  const key = signingKey(i.secretKey, day, region, 's3');
  const signature = signatureOf(key, stringToSign(amzDate, scope, canonical));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${i.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return { headers, signature, amzDate, scope, key };
}

/** An aws-chunked body with chunk signatures (and optionally signed trailers). */
export function signedChunks(s: Signed, chunks: Buffer[], trailers?: Record<string, string>): Buffer {
  const out: Buffer[] = [];
  let previous = s.signature;
  for (const c of [...chunks, Buffer.alloc(0)]) {
    const sig = signatureOf(s.key, chunkStringToSign(s.amzDate, s.scope, previous, sha256Hex(c)));
    out.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`), c);
    if (c.length > 0 || !trailers) out.push(Buffer.from('\r\n'));
    previous = sig;
  }
  if (trailers) {
    const canonical = Object.keys(trailers).sort().map((k) => `${k}:${trailers[k]}\n`).join('');
    const sig = signatureOf(s.key, trailerStringToSign(s.amzDate, s.scope, previous, sha256Hex(canonical)));
    for (const [k, v] of Object.entries(trailers)) out.push(Buffer.from(`${k}:${v}\r\n`));
    out.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n\r\n`));
  }
  return Buffer.concat(out);
}

/** An aws-chunked body without signatures (STREAMING-UNSIGNED-PAYLOAD-TRAILER). */
export function unsignedChunks(chunks: Buffer[], trailers: Record<string, string>): Buffer {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  out.push(Buffer.from('0\r\n'));
  for (const [k, v] of Object.entries(trailers)) out.push(Buffer.from(`${k}:${v}\r\n`));
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}
