// --metrics HOST:PORT for the long-running commands (mount, gateway, cache-server).
import type { Command } from 'commander';
import { serveMetrics, type MetricsEndpoint } from '../metrics/server.js';
import { parseAddress } from './address.js';

export interface MetricsFlags {
  metrics?: { host: string; port: number };
}

export function addMetricsFlag(cmd: Command): Command {
  return cmd.option('--metrics <address>', 'serve Prometheus metrics at http://ADDRESS/metrics: HOST:PORT, [IPV6]:PORT or PORT (host default 127.0.0.1)',
    (v: string) => parseAddress(v, '--metrics'));
}

/** Start the endpoint when asked (before anything else starts: a bad address changes nothing),
 * and `say` where it is. */
export async function serveMetricsIfAsked(flags: MetricsFlags, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<MetricsEndpoint | null> {
  if (!flags.metrics) return null;
  const endpoint = await serveMetrics(flags.metrics.host, flags.metrics.port);
  say(`metrics at ${endpoint.url}`);
  return endpoint;
}
