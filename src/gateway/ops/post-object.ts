// POST Object: browser form uploads. The body is a multipart/form-data form: fields (the key, the
// object's headers and metadata, and for a signed upload a POST policy with its signature), then
// the file, which streams into a temp file and becomes the object only once all of it arrived,
// within the sizes the policy allows, and the form ended well-formed. A form without a policy is
// authorized as the request itself: anonymous (only a bucket policy can allow it), or whoever
// signed its headers. The router leaves authorization to this operation for that reason.
import { createHash } from 'node:crypto';
import type { Attr } from '../../vfs/attr.js';
import type { Identity } from '../auth.js';
import { bucketOf, type OpContext } from '../context.js';
import { S3Error } from '../errors.js';
import { readForm, type Form, type FormFile } from '../form-upload.js';
import type { Digests } from '../integrity.js';
import { md5For } from '../md5.js';
import { objectTarget, type ObjectTarget } from '../objects.js';
import { requestAcl } from '../acl/for-write.js';
import { SIGNING_FIELDS, checkPostPolicy, verifyPolicySignatureV2, missingField, parsePostPolicy, verifyPolicySignature, type LengthRange } from '../post-policy.js';
import { STORED_HEADERS, userMetadata, type ObjectRecord } from '../record.js';
import { header } from '../request.js';
import { quoteEtag } from '../respond.js';
import { uriEncode } from '../sigv4.js';
import { tagsFromXml } from '../tags.js';
import { el, parseBody, xmlDocument } from '../xml.js';
import { MAX_PUT_SIZE, placeTemp, requireLength } from './put-object.js';

/** The fields before the file, together (the policy is also bounded on its own). */
const MAX_FIELD_BYTES = 1024 * 1024;
const MAX_FIELDS = 1000;
/** The whole body: the largest file, its fields, and room for part headers and what follows. */
const MAX_FORM_BODY = MAX_PUT_SIZE + 8 * MAX_FIELD_BYTES;

type Stored = Pick<ObjectRecord, 'headers' | 'meta' | 'tags' | 'acl'>;

/** A form accepted: where its file goes, what the object records, and how to answer. */
interface Upload {
  t: ObjectTarget;
  bucketDir: Attr;
  file: FormFile;
  range: LengthRange;
  record: Stored;
  fields: ReadonlyMap<string, string>;
}

export async function postObject(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  requireLength(ctx);
  const form = await readForm(ctx.body.chunks(MAX_FORM_BODY), ctx.req.headers, { fieldBytes: MAX_FIELD_BYTES, fields: MAX_FIELDS });
  try {
    const upload = await accept(ctx, bucket, form);
    const d = await store(ctx, form, upload);
    answer(ctx, upload, d);
  } catch (err) {
    form.abandon();
    throw err;
  }
}

async function accept(ctx: OpContext, bucket: string, form: Form): Promise<Upload> {
  const { fields, file } = form;
  const rawKey = fields.get('key');
  if (rawKey === undefined) throw missingField('key');
  if (file === null) throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request: send it in a field named "file", the last of the form.', { ArgumentName: 'file' });
  if (file.field.toLowerCase() !== 'file') {
    throw new S3Error('InvalidArgument', `The file came in the form field "${file.field.slice(0, 100)}"; it must come in the field named "file".`, { ArgumentName: 'file' });
  }
  const key = rawKey.replaceAll('${filename}', file.filename);
  if (key === '') throw new S3Error('InvalidArgument', 'User key must have a length greater than 0 (the key field is empty, or only ${filename} with a file sent without a name).', { ArgumentName: 'key' });
  const t = objectTarget(bucket, key);
  const { range, uploader } = await authorizeForm(ctx, fields, t);
  const bucketDir = await ctx.core.buckets.get(bucket);
  // The form's acl and x-amz-grant-* fields say what header would: the object's ACL.
  const aclFields = Object.fromEntries([...fields].filter(([n]) => n === 'acl' || n.startsWith('x-amz-grant-')).map(([n, v]) => [n === 'acl' ? 'x-amz-acl' : n, v]));
  const acl = await requestAcl(ctx, bucket, aclFields, uploader);
  return { t, bucketDir, file, range, record: { ...recordOf(fields), ...(acl ? { acl } : {}) }, fields };
}

/** The form's ACL and tag fields are what a PUT's headers would be: condition keys for the
 * policies (never the request's own headers, which the object does not get), and ACL and tagging
 * rights needed besides s3:PutObject. */
async function authorizeUpload(ctx: OpContext, uploader: Identity, fields: ReadonlyMap<string, string>, t: ObjectTarget): Promise<void> {
  const context: Record<string, string> = {};
  const acl = fields.get('acl');
  if (acl !== undefined) context['s3:x-amz-acl'] = acl;
  for (const [name, value] of fields) if (name.startsWith('x-amz-grant-')) context[`s3:${name}`] = value;
  await ctx.authorizeAs(uploader, 's3:PutObject', t.bucket, t.key, true, context);
  if (Object.keys(context).length > 0) await ctx.authorizeAs(uploader, 's3:PutObjectAcl', t.bucket, t.key, true, context);
  if (fields.has('tagging')) await ctx.authorizeAs(uploader, 's3:PutObjectTagging', t.bucket, t.key, true, context);
}

/** Whether the uploader may put the object, and the file sizes allowed. The uploader is the
 * policy's signer, or, for a form without a policy, the request's own identity. */
async function authorizeForm(ctx: OpContext, fields: ReadonlyMap<string, string>, t: ObjectTarget): Promise<{ range: LengthRange; uploader: Identity }> {
  const v2 = fields.has('awsaccesskeyid') || fields.has('signature');
  const signed = v2 || SIGNING_FIELDS.some((name) => fields.has(name)) || fields.has('x-amz-security-token');
  if (!signed) {
    await authorizeUpload(ctx, ctx.identity, fields, t);
    return { range: { min: 0, max: MAX_PUT_SIZE }, uploader: ctx.identity };
  }
  if (ctx.identity.kind !== 'anonymous') {
    throw new S3Error('InvalidArgument', 'Only one authentication mechanism allowed: sign the request or the form\'s policy, not both.');
  }
  const identity = v2 ? await verifyPolicySignatureV2(fields, ctx.core.credentials) : await verifyPolicySignature(fields, ctx.core.region, ctx.core.credentials);
  const range = checkPostPolicy(parsePostPolicy(fields.get('policy') ?? ''), { fields, bucket: t.bucket, key: t.key }, Date.now());
  // The form's signer, not the (anonymous) request, is who uploads.
  await authorizeUpload(ctx, identity, fields, t);
  return { range: { min: range.min, max: Math.min(range.max, MAX_PUT_SIZE) }, uploader: identity };
}

/** A field's value as a stored header: the UTF-8 bytes as sent, in the one-character-per-byte
 * form header values take (as a PUT's headers are stored), and nothing a header cannot carry. */
function headerValue(name: string, value: string): string {
  const v = Buffer.from(value, 'utf8').toString('latin1');
  if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) {
    throw new S3Error('InvalidArgument', `The form field ${name.slice(0, 100)} holds a line break or control character, which an HTTP header cannot carry.`, { ArgumentName: name.slice(0, 100) });
  }
  return v;
}

const META_NAME = /^x-amz-meta-[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** What the object records from the form; what this gateway does not do is refused, not ignored. */
function recordOf(fields: ReadonlyMap<string, string>): Stored {
  const meta: [string, string][] = [];
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-server-side-encryption')) {
      throw new S3Error('NotImplemented', `Server-side encryption is not implemented by this gateway (form field ${name.slice(0, 60)}); nothing was stored.`, { Header: name.slice(0, 60) });
    }
    if (name.startsWith('x-amz-checksum-')) {
      throw new S3Error('NotImplemented', `Checksums of form uploads are not implemented by this gateway (form field ${name.slice(0, 60)}); nothing was stored. The ETag is the file's MD5.`, { Header: name.slice(0, 60) });
    }
    if (!name.startsWith('x-amz-meta-')) continue;
    if (!META_NAME.test(name)) throw new S3Error('InvalidArgument', `The metadata field name "${name.slice(0, 100)}" is not a valid HTTP header name.`, { ArgumentName: name.slice(0, 100) });
    meta.push([name, headerValue(name, value)]);
  }
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = fields.get(name);
    if (v !== undefined) headers[name] = headerValue(name, v);
  }
  const tagging = fields.get('tagging');
  const tags = tagging === undefined ? undefined : tagsFromXml(parseBody(Buffer.from(tagging, 'utf8'), 'Tagging'));
  return { headers, meta: userMetadata(meta), tags };
}

/** The file's bytes, held to the allowed sizes as they come: one byte too many stops the upload. */
async function* bounded(data: AsyncIterable<Buffer>, range: LengthRange): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of data) {
    size += chunk.length;
    if (size > range.max) {
      const why = range.max === MAX_PUT_SIZE ? 'the most a single upload may hold; use a multipart upload' : 'the most the policy\'s content-length-range allows';
      throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size: the file is over ${range.max} bytes, ${why}. Nothing was stored.`, { MaxSizeAllowed: String(range.max) });
    }
    yield chunk;
  }
  if (size < range.min) {
    throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size: the file is ${size} bytes, the policy's content-length-range asks for at least ${range.min}. Nothing was stored.`, { ProposedSize: String(size), MinSizeAllowed: String(range.min) });
  }
}

/** Receive the file and put it at its key; nothing is left behind when anything fails. */
async function store(ctx: OpContext, form: Form, u: Upload): Promise<Digests> {
  const data = bounded(u.file.data, u.range);
  if (u.t.kp.directory) {
    for await (const chunk of data) {
      if (chunk.length > 0) throw new S3Error('InvalidRequest', `"${u.t.key.slice(0, 200)}" ends in "/": it names a directory, which holds no data. Send an empty file, or a key naming a file.`);
    }
    await form.end();
    const md5Raw = createHash('md5').digest();
    const d: Digests = { md5: md5Raw.toString('hex'), md5Raw, size: 0, checksums: {} };
    const events = await ctx.queued({ name: 's3:ObjectCreated:Post', bucket: u.t.bucket, key: u.t.key, size: 0, etag: d.md5 });
    await ctx.core.objects.placeDirectory(u.t, { etag: d.md5, size: 0, mtimeNs: '0', checksums: {}, ...u.record }, events);
    return d;
  }
  const md5 = md5For(ctx.body.declaredLength());
  const temp = await ctx.core.staging.createTemp();
  temp.onWritten = (chunks) => md5.update(chunks);
  let d: Digests;
  try {
    let size = 0;
    for await (const chunk of data) {
      size += chunk.length;
      await temp.append(chunk);
    }
    await temp.flush();
    // A form cut short after its file (no closing boundary) is not an upload.
    await form.end();
    const md5Raw = await md5.digest();
    d = { md5: md5Raw.toString('hex'), md5Raw, size, checksums: {} };
  } catch (err) {
    md5.abandon();
    await temp.discard();
    throw err;
  }
  await placeTemp(ctx, u.t, temp, d, u.record, u.bucketDir, 's3:ObjectCreated:Post');
  return d;
}

/** The object's URL, addressed as the form was (path-style, or virtual-hosted). */
function objectUrl(ctx: OpContext, t: ObjectTarget): string {
  const socket = ctx.req.raw.socket;
  const host = header(ctx.req, 'host') ?? `${socket.localAddress ?? 'localhost'}:${socket.localPort ?? ''}`;
  const prefix = ctx.req.path === '/' ? '' : `/${uriEncode(t.bucket, false)}`;
  return `http://${host}${prefix}/${uriEncode(t.key, true)}`;
}

/** success_action_redirect (or the older redirect): an http(s) URL, else null (ignored, as S3
 * ignores one it cannot use). */
function redirectTarget(value: string | undefined, t: ObjectTarget, etag: string): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.searchParams.append('bucket', t.bucket);
  url.searchParams.append('key', t.key);
  url.searchParams.append('etag', etag);
  return url.toString();
}

function answer(ctx: OpContext, u: Upload, d: Digests): void {
  const { res } = ctx;
  ctx.events.push({ name: 's3:ObjectCreated:Post', bucket: u.t.bucket, key: u.t.key, size: d.size, etag: d.md5, queued: true });
  const etag = quoteEtag(d.md5);
  const location = objectUrl(ctx, u.t);
  const redirect = redirectTarget(u.fields.get('success_action_redirect') ?? u.fields.get('redirect'), u.t, etag);
  if (redirect !== null) {
    res.writeHead(303, { Location: redirect, ETag: etag, 'Content-Length': '0' });
    res.end();
    return;
  }
  const status = u.fields.get('success_action_status');
  if (status === '201') {
    const doc = el('PostResponse', el('Location', location), el('Bucket', u.t.bucket), el('Key', u.t.key), el('ETag', etag));
    const body = Buffer.from(xmlDocument(doc, false));
    res.writeHead(201, { Location: location, ETag: etag, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
    res.end(body);
    return;
  }
  // S3 answers 204 unless asked for 200 (any other value is ignored).
  if (status === '200') {
    res.writeHead(200, { Location: location, ETag: etag, 'Content-Length': '0' });
  } else {
    res.writeHead(204, { Location: location, ETag: etag });
  }
  res.end();
}
