import { describe, expect, it } from 'vitest';
import { R_OK, S_IFDIR, S_IFREG, S_ISGID, W_OK, X_OK } from '../../src/vfs/constants.js';
import { chmodResult, inheritedOwnership, permits, type Caller } from '../../src/vfs/permissions.js';

const owner: Caller = { uid: 1000, gid: 1000, gids: [1000] };
const member: Caller = { uid: 1001, gid: 1001, gids: [1001, 1000] };
const stranger: Caller = { uid: 1002, gid: 1002, gids: [] };
const root: Caller = { uid: 0, gid: 0, gids: [] };

describe('permits', () => {
  const file = { mode: S_IFREG | 0o640, uid: 1000, gid: 1000 };

  it('uses the owner, group or other bits, whichever class the caller falls in first', () => {
    expect(permits(file, owner, R_OK | W_OK)).toBe(true);
    expect(permits(file, member, R_OK)).toBe(true);
    expect(permits(file, member, W_OK)).toBe(false);
    expect(permits(file, stranger, R_OK)).toBe(false);
    // The owner class wins even when the group bits would allow more.
    expect(permits({ mode: S_IFREG | 0o070, uid: 1000, gid: 1000 }, owner, R_OK)).toBe(false);
  });

  it('lets root read and write anything but execute only what has some x bit', () => {
    expect(permits({ mode: S_IFREG | 0o000, uid: 5, gid: 5 }, root, R_OK | W_OK)).toBe(true);
    expect(permits({ mode: S_IFREG | 0o600, uid: 5, gid: 5 }, root, X_OK)).toBe(false);
    expect(permits({ mode: S_IFREG | 0o001, uid: 5, gid: 5 }, root, X_OK)).toBe(true);
    expect(permits({ mode: S_IFDIR | 0o000, uid: 5, gid: 5 }, root, X_OK)).toBe(true);
  });

  it('grants F_OK to anyone', () => {
    expect(permits({ mode: S_IFREG, uid: 5, gid: 5 }, stranger, 0)).toBe(true);
  });
});

describe('chmodResult', () => {
  it('silently drops setgid when a non-root caller is outside the file group', () => {
    const file = { mode: S_IFREG | 0o644, uid: 1000, gid: 2000 };
    expect(chmodResult(file, owner, 0o2755)).toBe(0o755);
    expect(chmodResult(file, root, 0o2755)).toBe(0o2755);
    expect(chmodResult({ ...file, gid: 1000 }, owner, 0o2755)).toBe(0o2755);
  });
});

describe('inheritedOwnership', () => {
  it('hands down a setgid directory group, and setgid itself to subdirectories', () => {
    const dir = { mode: S_IFDIR | S_ISGID | 0o775, uid: 0, gid: 3000 };
    expect(inheritedOwnership(dir, owner, false, 0o644)).toEqual({ gid: 3000, mode: 0o644 });
    expect(inheritedOwnership(dir, owner, true, 0o755)).toEqual({ gid: 3000, mode: 0o755 | S_ISGID });
    const plain = { mode: S_IFDIR | 0o777, uid: 0, gid: 3000 };
    expect(inheritedOwnership(plain, owner, true, 0o755)).toEqual({ gid: 1000, mode: 0o755 });
  });
});
