// The IAM and STS query APIs on the gateway's own endpoint (as Ceph RGW serves them): a request
// signed for service "iam" or "sts", its parameters in a form body (POST) or the query (GET),
// answered with the XML documents AWS's query protocol uses, errors included.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IamError } from '../../iam/records.js';
import type { IamStore } from '../../iam/store.js';
import type { Identity } from '../auth.js';
import type { RequestBody } from '../body.js';
import { S3Error } from '../errors.js';
import type { Authorizer } from '../hooks.js';
import type { S3Request } from '../request.js';
import { el, xmlDocument, type XmlElement } from '../xml.js';
import type { QueryCall, QueryHandler } from './call.js';
import { IAM_ACTIONS } from './iam-actions.js';
import { STS_ACTIONS } from './sts-actions.js';

const NAMESPACE = { iam: 'https://iam.amazonaws.com/doc/2010-05-08/', sts: 'https://sts.amazonaws.com/doc/2011-06-15/' } as const;
const ACTIONS: Record<'iam' | 'sts', Record<string, QueryHandler>> = { iam: IAM_ACTIONS, sts: STS_ACTIONS };
const MAX_FORM_BYTES = 128 * 1024;

function send(res: ServerResponse, status: number, root: XmlElement, service: 'iam' | 'sts'): void {
  const body = Buffer.from(xmlDocument({ ...root, attrs: { xmlns: NAMESPACE[service] } }, false));
  res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': String(body.length) });
  res.end(body);
}

async function paramsOf(req: S3Request, body: RequestBody | Buffer, bodySigned: boolean): Promise<Map<string, string>> {
  const params = new Map<string, string>();
  for (const p of req.params) if (!params.has(p.name)) params.set(p.name, p.value);
  if (req.method === 'POST') {
    const type = String(req.headers['content-type'] ?? '');
    const empty = Buffer.isBuffer(body) ? body.length === 0 : body.empty;
    // The form says what the call does: one the signature does not cover (a presigned URL, an
    // UNSIGNED-PAYLOAD) could be another call than the one signed.
    if (!empty && !bodySigned) throw new IamError('AccessDenied', 'IAM and STS request bodies must be signed (no UNSIGNED-PAYLOAD, no presigned form).', 403);
    if (!empty && !/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new IamError('InvalidParameterValue', `The ${req.method} body must be application/x-www-form-urlencoded, not "${type.slice(0, 60)}".`);
    }
    const form = Buffer.isBuffer(body) ? body : empty ? Buffer.alloc(0) : await body.readAll(MAX_FORM_BYTES);
    for (const [k, v] of new URLSearchParams(form.toString('utf8'))) params.set(k, v);
  } else if (req.method !== 'GET') {
    throw new IamError('InvalidAction', `The ${req.method.slice(0, 10)} method is not used by the query API: use POST (or GET).`);
  }
  return params;
}

/** Serve one query API call; every failure becomes the query protocol's ErrorResponse. */
export async function serveQueryApi(service: 'iam' | 'sts', req: S3Request, body: RequestBody | Buffer, bodySigned: boolean, res: ServerResponse, identity: Identity, store: IamStore, authorizer: Authorizer): Promise<void> {
  let action = '';
  try {
    if (req.bucket !== null) throw new IamError('InvalidAction', `The ${service.toUpperCase()} API is served at "/", not at ${req.path.slice(0, 100)}.`);
    const params = await paramsOf(req, body, bodySigned);
    action = params.get('Action') ?? '';
    const handler = Object.hasOwn(ACTIONS[service], action) ? ACTIONS[service][action] : undefined;
    if (!handler) throw new IamError('InvalidAction', `${action === '' ? 'The Action parameter is missing' : `The action ${action.slice(0, 60)} is not valid for this ${service.toUpperCase()} endpoint`}.`);
    // Temporary credentials manage no identities: a leaked session must not mint lasting keys
    // (AWS refuses IAM calls from GetSessionToken credentials without MFA).
    if (service === 'iam' && identity.kind === 'session') {
      throw new IamError('AccessDenied', 'Temporary credentials cannot call the IAM API: use long-term credentials.', 403);
    }
    const call: QueryCall = {
      params, store, identity,
      async authorize(act, resource, context) {
        try {
          await authorizer({ identity, action: act, bucket: null, key: null, write: !/^(iam:(Get|List)|sts:Get)/.test(act), resource, req, ...(context ? { context } : {}) });
        } catch (err) {
          if (err instanceof S3Error && err.code === 'AccessDenied') {
            throw new IamError('AccessDenied', `User: ${identity.arn ?? 'anonymous'} is not authorized to perform: ${act} on resource: ${resource}`, 403);
          }
          throw err;
        }
      },
    };
    const result = await handler(call);
    send(res, 200, el(`${action}Response`, el(`${action}Result`, result), el('ResponseMetadata', el('RequestId', req.id))), service);
  } catch (err) {
    const e = err instanceof IamError ? err : err instanceof S3Error ? new IamError(err.code, err.message, err.status) : null;
    if (e === null) throw err;
    sendQueryError(res, req.id, service, e, false);
  }
}

/** The query protocol's error document (what AWS's SDKs and awscli parse for IAM and STS). */
export function sendQueryError(res: ServerResponse, requestId: string, service: 'iam' | 'sts', e: { code: string; message: string; status: number }, close: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (close) res.setHeader('Connection', 'close');
  // IAM and STS name an unknown key differently from S3.
  const code = e.code === 'InvalidAccessKeyId' ? 'InvalidClientTokenId' : e.code;
  send(res, e.status, el('ErrorResponse',
    el('Error', el('Type', e.status >= 500 ? 'Receiver' : 'Sender'), el('Code', code), el('Message', e.message)),
    el('RequestId', requestId),
  ), service);
}

/** The query API a request was signed for, read from its credential scope (null: S3). */
export function queryServiceOf(raw: IncomingMessage): 'iam' | 'sts' | null {
  const auth = raw.headers.authorization ?? '';
  const m = /Credential=[^,\s]*\/(iam|sts)\/aws4_request/.exec(auth) ?? /X-Amz-Credential=[^&]*%2F(iam|sts)%2Faws4_request/i.exec(raw.url ?? '');
  return m ? (m[1]!.toLowerCase() as 'iam' | 'sts') : null;
}
