// Where a request comes from and whether it came over TLS, for aws:SourceIp and
// aws:SecureTransport. The gateway speaks plain HTTP; behind a TLS-terminating proxy it may be
// told to believe that proxy's X-Forwarded-For and X-Forwarded-Proto — only from the addresses
// configured as trusted proxies, so that nobody else can claim an address or TLS.
import { parseIpRange, parseRequestAddress, rangeContains, type IpRange } from '../iam/policy/ip-address.js';
import type { S3Request } from './request.js';

export interface ClientAddress {
  sourceIp: string | undefined;
  secure: boolean;
}

function unmapped(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** Parsed trusted-proxy ranges; throws RangeError naming a bad one. */
export function trustedProxies(cidrs: readonly string[]): IpRange[] {
  return cidrs.map((c) => {
    const r = parseIpRange(c.trim());
    if (!r) throw new RangeError(`trusted proxy "${c}" is not an IP address or CIDR range`);
    return r;
  });
}

function trusted(proxies: readonly IpRange[], addr: string): boolean {
  const a = parseRequestAddress(addr);
  return a.family !== 0 && proxies.some((r) => rangeContains(r, a.family as 4 | 6, a.words));
}

export function clientAddress(req: S3Request | undefined, proxies: readonly IpRange[]): ClientAddress {
  const peer = req?.raw.socket?.remoteAddress;
  if (peer === undefined) return { sourceIp: undefined, secure: false };
  let ip = unmapped(peer);
  if (proxies.length === 0 || !trusted(proxies, ip)) return { sourceIp: ip, secure: false };
  // The client is the nearest address, walking back from the peer, that is not a trusted proxy.
  const forwarded = String(req!.headers['x-forwarded-for'] ?? '').split(',').map((s) => unmapped(s.trim())).filter((s) => s !== '');
  for (let i = forwarded.length - 1; i >= 0; i--) {
    ip = forwarded[i]!;
    if (!trusted(proxies, ip)) break;
  }
  const proto = String(req!.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim().toLowerCase();
  return { sourceIp: ip, secure: proto === 'https' };
}
