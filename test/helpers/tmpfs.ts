// A small file system of the test's own (tmpfs), for tests of what happens when a disk is full or
// short of free space: the machine's own disks are too big and too busy to make either happen.
// Mounting needs root (CI runs as root); elsewhere those tests are skipped, under npm test they fail.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { need, type Need } from './require.js';

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'root (to mount a small tmpfs)';
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'the mount command (util-linux)';
  }
}

export const tmpfsNeed: Need = need('root and mount(8) for a small tmpfs', missing());

/** Mount a tmpfs of `mib` MiB at `dir` (made if missing); call the result to unmount it. */
export async function mountTmpfs(dir: string, mib: number): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
  return () => {
    try {
      execFileSync('umount', [dir]);
    } catch {
      // Already unmounted.
    }
  };
}
