// Argument parsing the way node:fs/promises does it: flags strings, octal-string modes, times in
// seconds/Dates/strings, integer ranges, paths as strings/Buffers/file: URLs.
import { fileURLToPath } from 'node:url';
import {
  O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, O_WRONLY,
} from '../vfs/constants.js';
import { invalidArgType, invalidArgValue, outOfRange } from './arg-errors.js';

export type PathLike = string | Buffer | Uint8Array | URL;
export type OpenFlags = string | number;
export type Mode = string | number;
export type TimeLike = string | number | Date;

const MAX_USER_ID = 2 ** 32 - 1;

/** A path argument as a string (Buffers decode as UTF-8, file: URLs to their path). */
export function toPath(value: unknown, name = 'path'): string {
  let path: string;
  if (typeof value === 'string') path = value;
  else if (value instanceof Uint8Array) path = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  else if (value instanceof URL) {
    if (value.protocol !== 'file:') throw Object.assign(new TypeError('The URL must be of scheme file'), { code: 'ERR_INVALID_URL_SCHEME' });
    path = fileURLToPath(value);
  } else throw invalidArgType(name, 'of type string or an instance of Buffer or URL', value);
  if (path.includes('\u0000')) {
    throw invalidArgValue(name, value, 'must be a string, Uint8Array, or URL without null bytes');
  }
  return path;
}

const FLAG_STRINGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

export function toFlags(value: unknown, fallback: OpenFlags = 'r'): number {
  if (value == null) value = fallback;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalidArgValue('flags', value);
    return value;
  }
  if (typeof value === 'string' && Object.hasOwn(FLAG_STRINGS, value)) return FLAG_STRINGS[value];
  throw invalidArgValue('flags', value);
}

export function toMode(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value)) throw invalidArgValue(name, value, 'must be a 32-bit unsigned integer or an octal string');
    value = Number.parseInt(value, 8);
  }
  return toUint32(value, name);
}

export function toUint32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > 2 ** 32 - 1) throw outOfRange(name, '>= 0 && <= 4294967295', value);
  return value;
}

export function toInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** A uid/gid argument: -1 means "leave unchanged". */
export function toId(value: unknown, name: 'uid' | 'gid'): number {
  return toInteger(value, name, -1, MAX_USER_ID);
}

/** A time in seconds (float), from seconds, numeric strings or Dates; negative or non-finite
 * numbers mean "now", as in Node. */
export function toSeconds(value: unknown, name = 'time'): number {
  if (typeof value === 'string' && value.trim() !== '' && Number(value) === Number(value)) return Number(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return Date.now() / 1000;
    return value;
  }
  if (value instanceof Date) return value.getTime() / 1000;
  throw invalidArgType(name, 'an instance of Date or an Time in seconds', value);
}

export function toEncoding(value: unknown): BufferEncoding | null {
  if (value === undefined || value === null || value === 'buffer') return null;
  if (typeof value === 'string' && Buffer.isEncoding(value)) return value as BufferEncoding;
  throw invalidArgValue('encoding', value, 'is invalid encoding');
}

/** An options argument that may be an encoding string, an object, or absent. */
export function toOptions<T extends object>(value: unknown, defaults: T): T & { encoding?: string | null } {
  if (value === undefined || value === null) return { ...defaults };
  if (typeof value === 'string') return { ...defaults, encoding: value };
  if (typeof value === 'object') return { ...defaults, ...(value as object) };
  throw invalidArgType('options', 'of type string or an instance of Object', value);
}

export function toAccessMode(value: unknown): number {
  if (value === undefined) return 0;
  const mode = toInteger(value, 'mode');
  if (mode < 0 || mode > 7) {
    throw Object.assign(new RangeError('mode is out of range: >= 0 && <= 7'), { code: 'ERR_OUT_OF_RANGE' });
  }
  return mode;
}
