// The aws-chunked body encoding: "SIZE[;chunk-signature=SIG]\r\nDATA\r\n" repeated, a zero-size
// chunk, then (in the trailer variants) "name:value" trailing headers such as the checksum. Every
// signed chunk's signature chains from the previous one, starting at the request's signature; a
// chunk that does not verify stops the stream (its bytes have gone nowhere visible yet).
import { createHash, type Hash } from 'node:crypto';
import type { ChunkSigning } from './auth.js';
import { S3Error } from './errors.js';
import { EMPTY_SHA256, chunkStringToSign, sameSignature, sha256Hex, signatureOf, trailerStringToSign } from './sigv4.js';

const MAX_LINE = 4096;
const MAX_TRAILERS = 16;

function bad(why: string): never {
  throw new S3Error('IncompleteBody', `The aws-chunked body is malformed: ${why}.`);
}

function badSignature(what: string): never {
  throw new S3Error('SignatureDoesNotMatch', `The ${what} signature does not match the one we calculated.`);
}

type State = 'header' | 'data' | 'data-end' | 'final-end' | 'trailers' | 'done';

/** Decode an aws-chunked stream; trailing headers land in `trailers` (lowercase names). */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>, signing: ChunkSigning | null, withTrailer: boolean, trailers: Map<string, string>,
): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  let state: State = 'header';
  let remaining = 0;
  let previous = signing?.seed ?? '';
  let claimed = '';
  let hash: Hash | null = null;
  let trailerSignature: string | null = null;

  const verifyChunk = (chunkHash: string) => {
    if (!signing) return;
    const expected = signatureOf(signing.key, chunkStringToSign(signing.amzDate, signing.scope, previous, chunkHash));
    if (!sameSignature(expected, claimed)) badSignature('chunk');
    previous = claimed;
  };

  const headerLine = (line: string) => {
    const semi = line.indexOf(';');
    const sizeHex = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) bad(`chunk size "${sizeHex.slice(0, 40)}" is not hexadecimal`);
    remaining = parseInt(sizeHex, 16);
    if (!Number.isSafeInteger(remaining)) bad('a chunk is too large');
    claimed = '';
    if (semi >= 0) {
      for (const ext of line.slice(semi + 1).split(';')) {
        const [name, value] = ext.split('=', 2).map((s) => s.trim());
        if (name === 'chunk-signature') claimed = value ?? '';
      }
    }
    if (signing && !/^[0-9a-f]{64}$/.test(claimed)) bad('a chunk of a signed stream has no chunk-signature');
    hash = signing ? createHash('sha256') : null;
  };

  const trailerLine = (line: string) => {
    const colon = line.indexOf(':');
    if (colon <= 0) bad(`trailing header "${line.slice(0, 60)}" is not name:value`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      trailerSignature = value;
      return;
    }
    if (trailers.size >= MAX_TRAILERS) bad('too many trailing headers');
    trailers.set(name, value);
  };

  const finishTrailers = () => {
    if (signing) {
      if (trailerSignature === null) bad('the trailing headers of a signed stream carry no x-amz-trailer-signature');
      const canonical = [...trailers.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}:${v}\n`).join('');
      const expected = signatureOf(signing.key, trailerStringToSign(signing.amzDate, signing.scope, previous, sha256Hex(canonical)));
      if (!sameSignature(expected, trailerSignature)) badSignature('trailer');
    }
    state = 'done';
  };

  for await (const piece of source) {
    buf = buf.length === 0 ? piece : Buffer.concat([buf, piece]);
    let pos = 0;
    let more = true;
    while (more) {
      switch (state) {
        case 'header': {
          const eol = buf.indexOf('\r\n', pos, 'latin1');
          if (eol < 0) {
            if (buf.length - pos > MAX_LINE) bad('a chunk header is too long');
            more = false;
            break;
          }
          headerLine(buf.toString('latin1', pos, eol));
          pos = eol + 2;
          if (remaining === 0) {
            verifyChunk(EMPTY_SHA256);
            state = withTrailer ? 'trailers' : 'final-end';
          } else {
            state = 'data';
          }
          break;
        }
        case 'data': {
          const n = Math.min(remaining, buf.length - pos);
          if (n === 0) {
            more = false;
            break;
          }
          const part = buf.subarray(pos, pos + n);
          (hash as Hash | null)?.update(part);
          pos += n;
          remaining -= n;
          if (remaining === 0) state = 'data-end';
          yield part;
          break;
        }
        case 'data-end':
        case 'final-end': {
          if (buf.length - pos < 2) {
            more = false;
            break;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) bad('a chunk does not end with CRLF where its size says');
          pos += 2;
          if (state === 'final-end') {
            state = 'done';
          } else {
            verifyChunk((hash as Hash | null)?.digest('hex') ?? '');
            state = 'header';
          }
          break;
        }
        case 'trailers': {
          const eol = buf.indexOf('\r\n', pos, 'latin1');
          if (eol < 0) {
            if (buf.length - pos > MAX_LINE) bad('a trailing header is too long');
            more = false;
            break;
          }
          const line = buf.toString('latin1', pos, eol);
          pos = eol + 2;
          if (line !== '') {
            trailerLine(line);
          } else if (trailers.size > 0 || trailerSignature !== null) {
            finishTrailers();
          }
          // An empty line before any trailer is the zero chunk's own CRLF: some clients send it.
          break;
        }
        case 'done': {
          // Only line ends may follow the last chunk.
          for (; pos < buf.length; pos++) if (buf[pos] !== 0x0d && buf[pos] !== 0x0a) bad('data follows the final chunk');
          more = false;
          break;
        }
      }
    }
    buf = pos >= buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  }
  if (state === 'trailers' && buf.length === 0) finishTrailers();
  if (state !== 'done') bad('the body ended before its final chunk');
}
