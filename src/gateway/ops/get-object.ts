// GetObject and HeadObject: conditional requests, a single byte range, the stored headers and
// user metadata, and response-* overrides of a signed request.
import { checkRead, parseRange } from '../conditions.js';
import { S3Error } from '../errors.js';
import { targetOf, type OpContext } from '../context.js';
import { header } from '../request.js';
import { partRange, type ObjectInfo } from '../record.js';
import { MAX_PART_NUMBER } from '../multipart.js';
import { httpDate, nsToMs, quoteEtag } from '../respond.js';

/** Bytes a GET may have queued on its connection before it waits for the client. */
const SEND_AHEAD = 4 * 1024 * 1024;

const OVERRIDES: [string, string][] = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/** The headers describing an object (shared by GET, HEAD and the 304 answer). */
export function objectHeaders(info: ObjectInfo, checksumMode: boolean): Record<string, string> {
  const h: Record<string, string> = {
    ETag: quoteEtag(info.etag),
    'Last-Modified': httpDate(nsToMs(info.mtimeNs)),
    'Accept-Ranges': 'bytes',
    'Content-Type': info.headers['content-type'] ?? 'binary/octet-stream',
  };
  for (const [name, value] of Object.entries(info.headers)) {
    if (name !== 'content-type') h[name] = value;
  }
  for (const [name, value] of Object.entries(info.meta)) h[`x-amz-meta-${name}`] = value;
  if (info.parts !== undefined) h['x-amz-mp-parts-count'] = String(info.parts);
  if (info.tags.length > 0) h['x-amz-tagging-count'] = String(info.tags.length);
  if (checksumMode) {
    for (const [alg, value] of Object.entries(info.checksums)) h[`x-amz-checksum-${alg}`] = value;
    if (Object.keys(info.checksums).length > 0) h['x-amz-checksum-type'] = info.checksumType;
  }
  return h;
}

/** GET/HEAD ?partNumber=N: the bytes of part N of a multipart object (an object of one part
 * has part 1 only). */
function partOf(ctx: OpContext, info: ObjectInfo): { start: number; end: number } {
  const raw = ctx.req.query.get('partNumber')!;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) throw new S3Error('InvalidArgument', `partNumber must be 1 to ${MAX_PART_NUMBER}, got "${raw.slice(0, 20)}".`, { ArgumentName: 'partNumber' });
  if (header(ctx.req, 'range') !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.');
  const part = info.partSizes ? partRange(info.partSizes, n) : n === 1 ? { start: 0, end: info.size } : null;
  if (!part) throw new S3Error('InvalidPart', `The object has no part ${n}.`, { PartNumber: String(n) });
  return part;
}

async function serve(ctx: OpContext, withBody: boolean): Promise<void> {
  const { req, res } = ctx;
  const t = targetOf(ctx);
  const { info } = await ctx.core.objects.find(t);
  checkRead({
    ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match'),
    ifModifiedSince: header(req, 'if-modified-since'), ifUnmodifiedSince: header(req, 'if-unmodified-since'),
  }, info.etag, nsToMs(info.mtimeNs), { ETag: quoteEtag(info.etag), 'Last-Modified': httpDate(nsToMs(info.mtimeNs)) });
  const range = req.query.has('partNumber') ? partOf(ctx, info) : parseRange(header(req, 'range'), info.size);
  // Checksums describe the whole object: a part of it is sent without them.
  const checksumMode = (header(req, 'x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED';
  const headers = objectHeaders(info, checksumMode && range === null);
  for (const [param, name] of OVERRIDES) {
    const v = req.query.get(param);
    if (v === undefined) continue;
    // A value that cannot be a header (CR, LF, other control characters) would split the answer.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) throw new S3Error('InvalidArgument', `${param} holds a character a header value cannot hold.`, { ArgumentName: param });
    headers[name] = v;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? info.size;
  headers['Content-Length'] = String(end - start);
  if (range) headers['Content-Range'] = `bytes ${start}-${end - 1}/${info.size}`;
  res.writeHead(range ? 206 : 200, headers);
  ctx.events.push({ name: withBody ? 's3:ObjectAccessed:Get' : 's3:ObjectAccessed:Head', bucket: t.bucket, key: t.key, size: info.size, etag: info.etag });
  if (!withBody || end === start) {
    res.end();
    return;
  }
  // Pieces are views of block memory, held until the socket has written them. A response that
  // goes away (a failed read destroys it) lets go of what it still holds only once it is closed:
  // before that the socket may still be sending those bytes. A pipelined response still waiting
  // for its connection hears neither its writes' callbacks nor its own 'close' when the client
  // hangs up: the connection's 'close' covers it.
  const connection = res.req.socket;
  const held = new Set<() => void>();
  let wake: (() => void) | null = null;
  let streaming = true;
  const gone = () => res.destroyed || connection.destroyed;
  const onGone = () => {
    for (const release of held) release();
    held.clear();
    wake?.();
    stopListening();
  };
  // The connection outlives this response (keep-alive): its listener goes once nothing is held.
  const stopListening = () => {
    if (streaming || held.size > 0) return;
    res.off('close', onGone);
    connection.off('close', onGone);
  };
  res.once('close', onGone);
  connection.once('close', onGone);
  try {
    await ctx.core.objects.read(info.ino, start, end, (piece, release) => new Promise<boolean>((resolve) => {
      if (gone()) {
        release();
        return resolve(false);
      }
      held.add(release);
      res.write(piece, () => {
        held.delete(release);
        release();
        stopListening();
      });
      // Up to SEND_AHEAD bytes wait in the response so the socket never runs dry between pieces.
      if (res.writableLength < SEND_AHEAD) return resolve(true);
      const done = () => {
        res.off('drain', done);
        wake = null;
        resolve(!gone());
      };
      wake = done;
      res.once('drain', done);
    }));
  } finally {
    streaming = false;
    stopListening();
  }
  if (!gone()) res.end();
}

export const getObject = (ctx: OpContext) => serve(ctx, true);
export const headObject = (ctx: OpContext) => serve(ctx, false);
