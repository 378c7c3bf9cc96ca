// Latency of gateway requests, by S3 operation and HTTP status (strata_gateway_request_seconds):
// from the request's arrival to the last byte of the answer, so a GET's time includes streaming.
import { latencyHistogram, recording } from '../metrics/registry.js';

const requests = latencyHistogram('strata_gateway_request_seconds', 'S3 gateway requests from arrival to the end of the answer, by operation and status', ['volume', 'operation', 'status']);

/** Start timing a request; call the result with its operation and status once it has ended. */
export function timeRequest(volume: string): (operation: string, status: number) => void {
  if (!recording) return () => undefined;
  const started = performance.now();
  return (operation, status) => requests.observe({ volume, operation, status: String(status) }, (performance.now() - started) / 1000);
}
