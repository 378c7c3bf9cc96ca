// Option-value parsers for commander: a bad value is a usage error naming the flag.
import { InvalidArgumentError } from 'commander';
import { parseBlockSize, parseSize } from '../config/size.js';

export function wholeNumber(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n > max) throw new InvalidArgumentError(`${flag} takes a whole number from 0 to ${max}, got "${value}".`);
    return n;
  };
}

export function size(flag: string) {
  return (value: string): number => {
    try {
      return parseSize(value, flag);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

export function blockSize(flag: string) {
  return (value: string): number => {
    try {
      return parseBlockSize(value, flag);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A duration: a number with s, m, h or d ("90s", "30m", "1h", "7d"); 0 only with its unit. */
export function duration(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
    if (!m) throw new InvalidArgumentError(`${flag} takes a duration such as 90s, 30m, 1h or 7d, got "${value}".`);
    return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  };
}
