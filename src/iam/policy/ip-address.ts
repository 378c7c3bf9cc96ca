// IPv4 and IPv6 addresses and CIDR ranges, for IpAddress and NotIpAddress. An address is held as
// four 32-bit words (an IPv4 address in the last one) so that both families compare the same way;
// a range only ever contains addresses of its own family. An address without a prefix length is
// the range of just that address.

export interface IpRange {
  readonly v6: boolean;
  readonly words: Uint32Array;
  readonly masks: Uint32Array;
}

const DECIMAL_OCTET = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!DECIMAL_OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const out: number[] = [];
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIpv4(g);
      if (v4 === undefined) return undefined;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX_GROUP.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** Fills out with the address's words and says which family it is (4 or 6), or 0 if it is not an address. */
function parseAddress(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    if (v4 === undefined) return 0;
    out[0] = out[1] = out[2] = 0;
    out[3] = v4;
    return 4;
  }
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return 0;
  const head = parseGroups(gap >= 0 ? text.slice(0, gap) : text);
  const tail = gap >= 0 ? parseGroups(text.slice(gap + 2)) : [];
  if (head === undefined || tail === undefined) return 0;
  const missing = 8 - head.length - tail.length;
  if (gap >= 0 ? missing < 1 : missing !== 0) return 0;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return 6;
}

function prefixMasks(bits: number, v6: boolean): Uint32Array {
  const masks = new Uint32Array(4);
  let left = v6 ? bits : bits + 96;
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(32, left));
    masks[i] = take === 0 ? 0 : (0xffffffff << (32 - take)) >>> 0;
    left -= take;
  }
  return masks;
}

export function parseIpRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const words = new Uint32Array(4);
  const family = parseAddress(slash < 0 ? text : text.slice(0, slash), words);
  if (family === 0) return undefined;
  const max = family === 6 ? 128 : 32;
  let bits = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
    bits = Number(p);
  }
  const masks = prefixMasks(bits, family === 6);
  for (let i = 0; i < 4; i++) words[i] = (words[i] & masks[i]) >>> 0;
  return { v6: family === 6, words, masks };
}

const scratch = new Uint32Array(4);

/** The request's address, parsed into a shared buffer: family 0 if it is not an address. */
export function parseRequestAddress(text: string): { family: 0 | 4 | 6; words: Uint32Array } {
  return { family: parseAddress(text, scratch), words: scratch };
}

export function rangeContains(range: IpRange, family: 4 | 6, words: Uint32Array): boolean {
  if (range.v6 !== (family === 6)) return false;
  for (let i = 0; i < 4; i++) {
    if (((words[i] & range.masks[i]) >>> 0) !== range.words[i]) return false;
  }
  return true;
}
