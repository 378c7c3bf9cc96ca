// Writing responses: the headers every S3 answer carries, XML documents, and error documents.
import type { ServerResponse } from 'node:http';
import { S3Error } from './errors.js';
import { el, xmlDocument, type XmlElement } from './xml.js';

export function baseHeaders(res: ServerResponse, requestId: string): void {
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', requestId);
  res.setHeader('Server', 'Strata');
}

export function sendXml(res: ServerResponse, status: number, root: XmlElement, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xmlDocument(root));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

/** The error document; a HEAD answer carries the status only, as S3's does. `close` ends the
 * connection after it (the request's body was not read, so the connection cannot carry another). */
export function sendError(res: ServerResponse, requestId: string, resource: string, err: S3Error, head: boolean, close: boolean): void {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a failure, not a short body.
    res.destroy(err);
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  baseHeaders(res, requestId);
  const headers: Record<string, string> = { ...err.headers };
  if (close) headers.Connection = 'close';
  if (head || err.status === 304) {
    res.writeHead(err.status, { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  const doc = el('Error',
    el('Code', err.code),
    el('Message', err.message),
    ...Object.entries(err.extra).map(([k, v]) => el(k, v)),
    el('Resource', resource),
    el('RequestId', requestId),
    el('HostId', requestId),
  );
  const body = Buffer.from(xmlDocument(doc, false));
  res.writeHead(err.status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  res.end(body);
}

/** XML timestamps: ISO 8601 with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** HTTP dates (Last-Modified): RFC 7231, whole seconds. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}
