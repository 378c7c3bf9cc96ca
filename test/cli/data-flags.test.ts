// The data flags every volume-opening command shares (mount, warmup, cache-server) become the
// Volume options they name, in the units they say; bad values are usage errors naming the flag.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addDataFlags, dataOptions, type DataFlags } from '../../src/cli/data-flags.js';

const MiB = 1024 * 1024;

function parse(...args: string[]): DataFlags {
  const cmd = addDataFlags(new Command('t').exitOverride().configureOutput({ writeErr: () => undefined }));
  cmd.parse(args, { from: 'user' });
  return cmd.opts<DataFlags>();
}

describe('data flags', () => {
  it('turn into the Volume options they name, in bytes and milliseconds', () => {
    const o = dataOptions(parse('--memory-cache', '512', '--cache-size', '100', '--cache-dir', '/a:/b', '--request-timeout', '2', '--max-downloads', '8'));
    expect(o.memoryCacheSize).toBe(512 * MiB);
    expect(o.cacheSize).toBe(100 * MiB);
    expect(o.cacheDir).toEqual(['/a', '/b']);
    expect(o.requestTimeoutMs).toBe(2000);
    expect(o.maxDownloads).toBe(8);
    // Unset flags keep the Volume's defaults.
    const none = dataOptions(parse());
    expect(none.memoryCacheSize).toBeUndefined();
    expect(none.cacheDir).toBeUndefined();
    expect(dataOptions(parse('--cache-dir', 'none')).cacheDir).toBeNull();
  });

  it('refuse values out of range with the flag named', () => {
    expect(() => parse('--memory-cache', 'lots')).toThrow(/--memory-cache takes a whole number from 0 to 2048/);
    expect(() => parse('--memory-cache', '4096')).toThrow(/--memory-cache/);
    expect(() => parse('--max-downloads', '0')).toThrow(/--max-downloads takes a whole number from 1/);
  });
});
