// Listening addresses given on the command line.
import { InvalidArgumentError } from 'commander';

/** "HOST:PORT", "[IPV6]:PORT", ":PORT" or "PORT"; the host defaults to 127.0.0.1 (listening on
 * other interfaces is asked for explicitly, e.g. 0.0.0.0:9000). */
export function parseAddress(value: string, what = 'ADDRESS'): { host: string; port: number } {
  const bad = () => new InvalidArgumentError(`${what} must be HOST:PORT, [IPV6]:PORT, :PORT or PORT, got "${value}".`);
  const v = value.trim();
  let host: string;
  let port: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(v);
  if (v6) {
    [host, port] = [v6[1], v6[2]];
  } else if (/^\d+$/.test(v)) {
    [host, port] = ['127.0.0.1', v];
  } else {
    const colon = v.lastIndexOf(':');
    if (colon < 0) throw bad();
    [host, port] = [v.slice(0, colon) || '127.0.0.1', v.slice(colon + 1)];
    if (host.includes(':') || /\s/.test(host)) throw bad();
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw bad();
  return { host, port: Number(port) };
}
