// Requests the SDK would never send on its own, still signed by it: a middleware changes the
// request after serialization and before signing (or after signing, to break the signature).
import type { S3Client } from '@aws-sdk/client-s3';

export interface HttpRequestLike {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

interface Sendable {
  middlewareStack: {
    add(mw: (next: (args: { request: HttpRequestLike }) => Promise<unknown>) => (args: { request: HttpRequestLike }) => Promise<unknown>, opts: Record<string, unknown>): void;
  };
}

/** Send `command`, letting `mutate` change its HTTP request before signing (`when: 'before-sign'`)
 * or after it (`'after-sign'`). */
export function sendTampered<T>(s3: S3Client, command: T, mutate: (req: HttpRequestLike) => void, when: 'before-sign' | 'after-sign' = 'before-sign'): Promise<unknown> {
  const c = command as unknown as Sendable;
  c.middlewareStack.add((next) => async (args) => {
    mutate(args.request);
    return next(args);
  }, when === 'before-sign'
    ? { step: 'build', priority: 'low', name: 'tamperBeforeSign', override: true }
    : { step: 'finalizeRequest', priority: 'low', name: 'tamperAfterSign', override: true });
  return s3.send(command as never);
}

/** Replace the body (and the headers that describe it) before signing. */
export function replaceBody(req: HttpRequestLike, body: string | Buffer): void {
  req.body = body;
  for (const h of Object.keys(req.headers)) {
    if (/^(content-md5|x-amz-checksum-|x-amz-sdk-checksum|content-length|x-amz-content-sha256|x-amz-decoded-content-length|x-amz-trailer|content-encoding|transfer-encoding)/i.test(h)) delete req.headers[h];
  }
  req.headers['content-length'] = String(Buffer.byteLength(body));
}
