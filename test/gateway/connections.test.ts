// A client cannot hold the gateway's connections: headers that never end, bodies declared and
// never sent (before or after authentication), bodies that trickle, and more connections than the
// limit each end with an answer where one is due and the connection closed — and the gateway
// keeps serving others. The limits are made small here so each case settles in well under a
// second; the defaults are in src/gateway/server.ts.
import { GetObjectCommand, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, startTestGateway, type TestGateway } from './harness.js';
import { signHeaders } from './signer.js';

let t: TestGateway;
let crowded: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ limits: { headersMs: 300, bodyWindowMs: 300, bodyMinBytes: 64, drainMs: 300 } });
  await t.s3.send(new CreateBucketCommand({ Bucket: 'conn' }));
  crowded = await startTestGateway({ limits: { maxConnections: 3 } });
  await crowded.s3.send(new CreateBucketCommand({ Bucket: 'crowd' }));
  await crowded.s3.send(new PutObjectCommand({ Bucket: 'crowd', Key: 'k', Body: 'served' }));
});

afterAll(async () => {
  await t?.cleanup();
  await crowded?.cleanup();
});

/** A raw connection: what it received, and a promise of its closing. */
function open(gw: TestGateway): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const u = new URL(gw.gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const parts: Buffer[] = [];
    socket.on('data', (c: Buffer) => parts.push(c));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(parts).toString(), closed }));
    socket.once('error', reject);
  });
}

function signedHead(method: string, path: string, extra: Record<string, string>): string {
  const u = new URL(t.gw.url);
  const s = signHeaders({ method, path, host: u.host, headers: extra, payloadHash: 'UNSIGNED-PAYLOAD', accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

describe('connections that never finish are closed', () => {
  it('headers that never end', async () => {
    const c = await open(t);
    c.socket.write('GET /conn/k HTTP/1.1\r\nHost: x\r\n');
    await c.closed;
  });

  it('an unauthenticated request declaring a body it never sends gets its answer, then the close', async () => {
    const c = await open(t);
    c.socket.write('PUT /conn/anon HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 403 /);
    expect(c.received()).toContain('<Code>AccessDenied</Code>');
  });

  it('an authenticated PUT whose body stops or trickles fails with RequestTimeout and stores nothing', async () => {
    for (const key of ['silent', 'trickle']) {
      const c = await open(t);
      c.socket.write(signedHead('PUT', `/conn/${key}`, { 'content-length': '1000' }));
      let sent = 0;
      const drip = key === 'trickle' ? setInterval(() => { if (sent++ < 100) c.socket.write('x'); }, 50) : undefined;
      await c.closed;
      clearInterval(drip);
      expect(c.received(), key).toMatch(/^HTTP\/1\.1 400 /);
      expect(c.received(), key).toContain('<Code>RequestTimeout</Code>');
      expect(await t.vol.readdir('/conn'), key).not.toContain(key);
    }
    // The gateway still serves.
    await t.s3.send(new PutObjectCommand({ Bucket: 'conn', Key: 'after', Body: 'fine' }));
    expect(await (await t.s3.send(new GetObjectCommand({ Bucket: 'conn', Key: 'after' }))).Body!.transformToString()).toBe('fine');
  });
});

describe('a connection limit', () => {
  it('refuses connections beyond it and serves again once they go', async () => {
    const held = await Promise.all([open(crowded), open(crowded), open(crowded)]);
    const extra = await open(crowded);
    await extra.closed;
    expect(extra.received()).toBe('');
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    // The server counts a connection gone once it saw it close.
    let body = '';
    for (let attempt = 0; attempt < 50 && body === ''; attempt++) {
      body = await crowded.client().send(new GetObjectCommand({ Bucket: 'crowd', Key: 'k' })).then((r) => r.Body!.transformToString(), () => '');
      if (body === '') await new Promise((r) => setTimeout(r, 20));
    }
    expect(body).toBe('served');
  });
});
