// A gateway over a fresh SQLite volume in a temp dir, on 127.0.0.1 port 0, with an AWS SDK v3
// client pointed at it and an SDK Volume on the same volume (to check the file-system side).
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Volume } from '../../src/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.js';

export const ACCESS_KEY = 'STRATATESTKEY';
export const SECRET_KEY = 'strata-test-secret-key';

export interface TestGateway {
  gw: Gateway;
  s3: S3Client;
  /** Another client (its own connections), e.g. with other credentials. */
  client(config?: Partial<S3ClientConfig>): S3Client;
  vol: Volume;
  dir: string;
  metaUrl: string;
  storageDir: string;
  logs: string[];
  cleanup(): Promise<void>;
}

export async function startTestGateway(options: Partial<GatewayOptions> = {}, format: { trashDays?: number; blockSize?: number } = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-gw-'));
  const metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
  const storageDir = join(dir, 'objects');
  await Volume.format(metaUrl, { name: 'gwtest', storage: `file://${storageDir}`, trashDays: format.trashDays ?? 0, blockSize: format.blockSize });
  const logs: string[] = [];
  const gw = await startGateway({ metaUrl, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, log: (m) => logs.push(m), ...options });
  const clients: S3Client[] = [];
  const client = (config: Partial<S3ClientConfig> = {}) => {
    const c = new S3Client({
      endpoint: gw.url, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1, ...config,
    });
    clients.push(c);
    return c;
  };
  const s3 = client();
  const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
  return {
    gw, s3, client, vol, dir, metaUrl, storageDir, logs,
    async cleanup() {
      for (const c of clients) c.destroy();
      await vol.close().catch(() => undefined);
      await gw.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request exactly as given (for what the SDK would never send). */
export function rawRequest(url: string, method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host') }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The <Code> of an S3 error document. */
export function errorCodeOf(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** What an SDK call fails with: its error name (the S3 code) and HTTP status, or 'ok'. */
export async function s3Failure(p: Promise<unknown>): Promise<{ code: string; status?: number }> {
  try {
    await p;
    return { code: 'ok' };
  } catch (err) {
    const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.Code ?? e.name ?? String(err), status: e.$metadata?.httpStatusCode };
  }
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}
