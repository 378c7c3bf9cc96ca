// A misbehaving network in front of a real S3 server, for the fault tests: an HTTP proxy on
// loopback that forwards to s3rver and, at a chosen rate, answers 500 / 503 / SlowDown itself,
// resets the connection before answering, mid-upload or mid-download, or stalls (accepts the
// request and never answers). It can also play a store that is down: refusing every connection,
// or stalling every request.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAULTS = ['error500', 'error503', 'slowDown', 'resetBeforeAnswer', 'resetMidUpload', 'resetMidDownload', 'stall'] as const;
export type Fault = (typeof FAULTS)[number];

export interface FaultProxyOptions {
  /** Port of the server on 127.0.0.1 to forward to. */
  targetPort: number;
  /** Share of requests that get a fault (0..1). */
  rate?: number;
  /** Which faults to inject, taken in turn so that each kind shows up (default: all). */
  faults?: readonly Fault[];
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  rate: number;
  faults: readonly Fault[];
  /** Requests seen, connections accepted, the most connections open at once, and faults
   * injected by kind. */
  readonly requests: number;
  readonly connections: number;
  readonly peakConnections: number;
  readonly injected: Record<Fault, number>;
  /** Play a store that is down: 'refuse' resets every connection, 'stall' never answers. */
  down(how: 'refuse' | 'stall'): void;
  /** Back to forwarding (with the fault rate). */
  up(): void;
  /** Answer the next `n` requests with `answer` (e.g. a 403 AccessDenied), then go on as before. */
  answerNext(n: number, answer: { status: number; code: string; message: string }): void;
  close(): Promise<void>;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

function answer(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  // Read the upload first, as a real server would, so the client is not cut off mid-send.
  req.resume();
  req.on('end', () => {
    const body = errorXml(code, message);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const injected = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;
  let requests = 0;
  let connections = 0;
  let peakConnections = 0;
  let mode: 'up' | 'refuse' | 'stall' = 'up';
  const scripted: { status: number; code: string; message: string }[] = [];

  let turn = 0;
  // The next fault in turn that can happen to this request (only uploads can be cut mid-upload,
  // only downloads with a body mid-download).
  const nextFault = (req: IncomingMessage): Fault | undefined => {
    for (let tried = 0; tried < proxy.faults.length; tried++) {
      const f = proxy.faults[turn++ % proxy.faults.length];
      if (f === 'resetMidUpload' && !(req.method === 'PUT' && Number(req.headers['content-length'] ?? 0) > 0)) continue;
      if (f === 'resetMidDownload' && req.method !== 'GET') continue;
      return f;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, fault?: 'resetMidUpload' | 'resetMidDownload') => {
    const out = request({ host: '127.0.0.1', port: options.targetPort, method: req.method, path: req.url, headers: req.headers, agent: upstream }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      const length = Number(up.headers['content-length'] ?? 0);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (fault === 'resetMidDownload' && sent + chunk.length > length / 2) {
          // Half the body, then a TCP reset: the client must not take the half for the whole.
          res.write(chunk.subarray(0, Math.max(0, Math.floor(length / 2) - sent)));
          up.destroy();
          setImmediate(() => req.socket.resetAndDestroy());
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      up.on('end', () => res.end());
      up.on('error', () => req.socket.destroy());
    });
    out.on('error', () => req.socket.destroy());
    if (fault === 'resetMidUpload') {
      const length = Number(req.headers['content-length'] ?? 0);
      let got = 0;
      req.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got < length / 2 || length === 0) {
          out.write(chunk);
        } else {
          // The server sees an upload that stops short; the client sees a reset.
          out.destroy();
          req.socket.resetAndDestroy();
        }
      });
      req.on('end', () => out.end());
      if (length === 0) req.socket.resetAndDestroy();
    } else {
      req.pipe(out);
    }
  };

  const server = createServer((req, res) => {
    requests++;
    if (mode === 'stall') return; // hold the request until the client gives up
    const next = scripted.shift();
    if (next) return answer(req, res, next.status, next.code, next.message);
    if (proxy.rate <= 0 || Math.random() >= proxy.rate) return forward(req, res);
    const fault = nextFault(req);
    if (fault === undefined) return forward(req, res);
    injected[fault]++;
    switch (fault) {
      case 'error500':
        return answer(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'error503':
        return answer(req, res, 503, 'ServiceUnavailable', 'Please reduce your request rate.');
      case 'slowDown':
        return answer(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
      case 'resetBeforeAnswer':
        return req.socket.resetAndDestroy();
      case 'stall':
        return;
      default:
        return forward(req, res, fault);
    }
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket: Socket) => {
    if (mode === 'refuse') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    connections++;
    peakConnections = Math.max(peakConnections, sockets.size);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    rate: options.rate ?? 0,
    faults: options.faults ?? FAULTS,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get peakConnections() {
      return peakConnections;
    },
    injected,
    down(how) {
      mode = how;
      // Connections already open (keep-alive) go down with the store.
      for (const s of sockets) s.resetAndDestroy();
    },
    up() {
      mode = 'up';
    },
    answerNext(n, a) {
      for (let i = 0; i < n; i++) scripted.push(a);
    },
    async close() {
      for (const s of sockets) s.destroy();
      upstream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
