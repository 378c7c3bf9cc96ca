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
