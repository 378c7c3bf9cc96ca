// Every write is visible to every read at once, through the mount with its default options
// (kernel read-ahead of 4 MiB, sent as 512 KiB READs that arrive together): the same descriptor,
// another descriptor, another process, a shared mapping, threads reading while a writer goes on,
// and the size seen by fstat during appends — before anything is closed or fsynced. Each scenario
// (helpers/coherence.py) runs at every size on the mount and on a local directory; the local run
// must pass too, or the scenario itself is wrong.
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { need } from '../helpers/require.js';
import { mountForSuite, run, type TestMount } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'coherence.py');
const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [4 * KiB, 1 * MiB, 2 * MiB, 8 * MiB, 64 * MiB];
const SCENARIOS = ['same-fd', 'other-fd', 'other-process', 'mmap-read', 'mmap-write', 'concurrent-pread', 'fstat-append'];

/** The scenario's failures; a process killed by a signal (SIGBUS from a mapping) is one too. */
async function scenario(name: string, dir: string, size: number): Promise<string[]> {
  try {
    const { stdout } = await run('python3', [HELPER, name, dir, String(size)], { maxBuffer: MiB });
    return (JSON.parse(stdout) as { failures: string[] }).failures;
  } catch (err) {
    const e = err as { signal?: string; code?: number; stderr?: string };
    return [`the scenario process ended with ${e.signal ?? `exit code ${e.code}`}: ${String(e.stderr ?? err).slice(-600)}`];
  }
}

describe.skipIf(fuse.skip)('write-then-read on the mount, before any close or fsync', () => {
  const mount = mountForSuite(fuse);
  let m: TestMount;
  let ref: string;

  beforeAll(async () => {
    m = mount();
    ref = join(m.dir, 'ref');
    await fs.mkdir(ref);
  });

  for (const name of SCENARIOS) {
    it(`${name}: every read sees every byte written before it, at ${SIZES.map((s) => (s < MiB ? `${s / KiB} KiB` : `${s / MiB} MiB`)).join(', ')}`, async () => {
      const seen: Record<string, string[]> = {};
      for (const size of SIZES) {
        for (const [where, root] of [['local', ref], ['mount', m.mountpoint]] as const) {
          const dir = join(root, `${name}-${size}`);
          await fs.mkdir(dir);
          const failures = await scenario(name, dir, size);
          if (failures.length > 0) seen[`${where} ${size}`] = failures;
          await fs.rm(dir, { recursive: true });
        }
      }
      expect(seen, m.log().slice(-2000)).toEqual({});
    }, 240_000);
  }
});
