// Sizes as users type them: `4M`, `64K`, `4MiB`, `1.5G`, `4096` (bytes). Units are binary:
// K, KB, KiB all mean 1024 bytes (as in most storage tools), and B alone means bytes.

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

const SIZE = /^(\d+(?:\.\d+)?|\.\d+) ?([kmgtp]?)(ib|i|b)?$/i;

export const MIN_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;

/** Bytes as the shortest exact binary-unit form: 4194304 -> '4M', 1536 -> '1.5K', 1000 -> '1000'. */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of [['P', 2 ** 50], ['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    // Dividing by a power of two is exact, so the printed value always parses back to `bytes`.
    const value = String(bytes / scale);
    if (bytes >= scale && !/\.\d{4}/.test(value)) return `${value}${unit}`;
  }
  return String(bytes);
}

/**
 * Parse a size in bytes. `what` names the setting in error messages (e.g. 'buffer size',
 * '--cache-size'). Throws RangeError (bad value) or TypeError (not a string or number).
 */
export function parseSize(input: string | number, what = 'size'): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new RangeError(`${what} must be a whole number of bytes >= 0, got ${input}`);
    return input;
  }
  if (typeof input !== 'string') throw new TypeError(`${what} must be a string like '4M' or a number of bytes, got ${typeof input}`);
  const text = input.trim();
  if (text === '') throw new RangeError(`${what} is empty; give a size like 4M, 64K, 1G or a number of bytes`);
  if (text.startsWith('-')) throw new RangeError(`${what} ${JSON.stringify(input)} is negative; sizes are >= 0`);
  const m = SIZE.exec(text);
  // `4iB` and `4i` (binary marker without a unit letter) are not sizes; `4B`, `4Ki`, `4KiB` are.
  if (!m || (m[2] === '' && m[3] !== undefined && /^i/i.test(m[3]))) {
    throw new RangeError(`${what} ${JSON.stringify(input)} is not a size; use a number of bytes or a number with a unit K, M, G, T, P (binary: 4M = 4 MiB = 4194304 bytes), e.g. 64K, 4M, 1.5G`);
  }
  const scale = UNITS[m[2].toLowerCase()];
  const bytes = Number(m[1]) * scale;
  if (!Number.isInteger(bytes)) throw new RangeError(`${what} ${JSON.stringify(input)} is not a whole number of bytes (${bytes}); use a smaller unit`);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`${what} ${JSON.stringify(input)} is too large (at most ${formatSize(2 ** 50 * 8)})`);
  return bytes;
}

/** A volume block size: a power of two from 64K to 16M. Plain numbers are bytes. */
export function parseBlockSize(input: string | number, what = 'block size'): number {
  const bytes = parseSize(input, what);
  const shown = JSON.stringify(String(input));
  if (bytes < MIN_BLOCK_SIZE || bytes > MAX_BLOCK_SIZE) {
    let hint = '';
    // A bare number was probably meant in KiB (as some tools take it).
    if (typeof input === 'string' && /^\d+$/.test(input.trim()) && bytes * 1024 >= MIN_BLOCK_SIZE && bytes * 1024 <= MAX_BLOCK_SIZE) {
      hint = ` (a bare number is bytes; did you mean ${input.trim()}K?)`;
    }
    throw new RangeError(`${what} ${shown} is ${bytes} bytes, outside the allowed 64K..16M${hint}; the default is 4M`);
  }
  if ((bytes & (bytes - 1)) !== 0) {
    const below = 2 ** Math.floor(Math.log2(bytes));
    throw new RangeError(`${what} ${shown} (${bytes} bytes) is not a power of two; use e.g. ${formatSize(below)} or ${formatSize(below * 2)}`);
  }
  return bytes;
}
