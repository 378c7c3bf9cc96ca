// The /metrics endpoint of a process (mount, gateway, cache server): the registry in Prometheus's
// text format. Read-only and unauthenticated, as Prometheus scrapes it, so it listens on loopback
// unless told otherwise, and nothing secret is ever a label value.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import { registry } from './registry.js';

let processMetrics = false;

export interface MetricsEndpoint {
  /** http://HOST:PORT/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export async function serveMetrics(host: string, port: number): Promise<MetricsEndpoint> {
  // The process's own CPU, memory, heap and event-loop delay, once per process, and only in a
  // process that is scraped (the event-loop monitor costs a little).
  if (!processMetrics) {
    processMetrics = true;
    collectDefaultMetrics({ register: registry });
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(err as Error).message}\n`),
    );
  });
  // A scraper holds its connection open between scrapes; close() must not wait for it.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'no permission to listen there' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this host' : err.message;
      reject(Object.assign(new Error(`cannot serve metrics at ${host}:${port}: ${why}; choose another --metrics HOST:PORT`), { code: err.code, exitCode: 2 }));
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
