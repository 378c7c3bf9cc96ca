// Argument errors shaped like Node's own (same classes, codes and messages), so code written
// against node:fs/promises handles bad input from the SDK the same way.
import { inspect } from 'node:util';

export type NodeArgError = (TypeError | RangeError) & { code: string };

function withCode<E extends Error>(err: E, code: string): E & { code: string } {
  Object.defineProperty(err, 'code', { value: code, enumerable: false, writable: true, configurable: true });
  // Node prints "TypeError [ERR_X]: message" in stack traces; keep the same first line.
  err.stack = `${err.name} [${code}]: ${err.message}` + (err.stack ?? '').slice((err.stack ?? '').indexOf('\n'));
  return err as E & { code: string };
}

function describeReceived(value: unknown): string {
  if (value == null) return ` Received ${String(value)}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): NodeArgError {
  const what = name.includes('.') ? 'property' : 'argument';
  return withCode(new TypeError(`The "${name}" ${what} must be ${expected}.${describeReceived(value)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): NodeArgError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const what = name.includes('.') ? 'property' : 'argument';
  return withCode(new TypeError(`The ${what} '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, value: unknown): NodeArgError {
  const shown = typeof value === 'number' && Number.isInteger(value) && Math.abs(value) > 2 ** 32
    ? addUnderscores(String(value)) : inspect(value);
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`), 'ERR_OUT_OF_RANGE');
}

export function invalidState(message: string): Error & { code: string } {
  return withCode(new Error(`Invalid state: ${message}`), 'ERR_INVALID_STATE');
}

function addUnderscores(digits: string): string {
  let res = '';
  let i = digits.length;
  const start = digits[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) res = `_${digits.slice(i - 3, i)}${res}`;
  return `${digits.slice(0, i)}${res}`;
}
