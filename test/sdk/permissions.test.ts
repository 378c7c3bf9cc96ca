// POSIX permission rules enforced by the vfs, seen through SDK clients with different identities
// on one volume (root prepares, others act).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume } from '../../src/index.js';
import { makeVolume, type TestVolume } from './helpers.js';

let tv: TestVolume;
let root: Volume;
let alice: Volume; // uid 1000, groups 1000 + 3000
let bob: Volume; // uid 1001, group 1001

beforeAll(async () => {
  tv = await makeVolume({ uid: 0, gid: 0, umask: 0o022 });
  root = tv.vol;
  alice = await tv.open({ uid: 1000, gid: 1000, gids: [1000, 3000], umask: 0o022 });
  bob = await tv.open({ uid: 1001, gid: 1001, umask: 0o022 });
  await root.mkdir('/shared', 0o777);
  await root.chmod('/shared', 0o777);
  await root.mkdir('/alice', 0o755);
  await root.chown('/alice', 1000, 1000);
});

afterAll(async () => {
  await tv.cleanup();
});

describe('file access', () => {
  it('enforces read/write bits for owner, group and others', async () => {
    await alice.writeFile('/alice/private', 'secret', { mode: 0o600 });
    await expect(bob.readFile('/alice/private')).rejects.toMatchObject({ code: 'EACCES', syscall: 'open', path: '/alice/private' });
    await expect(bob.writeFile('/alice/private', 'x')).rejects.toMatchObject({ code: 'EACCES' });
    await alice.chmod('/alice/private', 0o644);
    expect(await bob.readFile('/alice/private', 'utf8')).toBe('secret');
    await expect(bob.open('/alice/private', 'r+')).rejects.toMatchObject({ code: 'EACCES' });
    expect(await root.readFile('/alice/private', 'utf8')).toBe('secret');
    await expect(bob.access('/alice/private', 2)).rejects.toMatchObject({ code: 'EACCES', syscall: 'access' });
    await bob.access('/alice/private', 4);
  });

  it('needs search permission on every directory of a path', async () => {
    await alice.mkdir('/alice/closed', 0o700);
    await alice.writeFile('/alice/closed/f', 'x', { mode: 0o666 });
    await expect(bob.stat('/alice/closed/f')).rejects.toMatchObject({ code: 'EACCES', syscall: 'stat' });
    await expect(bob.readdir('/alice/closed')).rejects.toMatchObject({ code: 'EACCES', syscall: 'scandir' });
    await alice.chmod('/alice/closed', 0o711);
    expect((await bob.stat('/alice/closed/f')).size).toBe(1);
    await expect(bob.readdir('/alice/closed')).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('needs write+search on the parent to create, unlink or rename', async () => {
    await expect(bob.writeFile('/alice/new', 'x')).rejects.toMatchObject({ code: 'EACCES', syscall: 'open' });
    await expect(bob.mkdir('/alice/sub')).rejects.toMatchObject({ code: 'EACCES', syscall: 'mkdir' });
    await expect(bob.unlink('/alice/private')).rejects.toMatchObject({ code: 'EACCES', syscall: 'unlink' });
    await expect(bob.rename('/alice/private', '/shared/stolen')).rejects.toMatchObject({ code: 'EACCES', syscall: 'rename' });
    await expect(bob.symlink('x', '/alice/l')).rejects.toMatchObject({ code: 'EACCES', syscall: 'symlink' });
    await expect(bob.link('/alice/private', '/alice/l')).rejects.toMatchObject({ code: 'EACCES', syscall: 'link' });
  });

  it('root may not execute a file without any x bit', async () => {
    await root.writeFile('/shared/script', '#!/bin/sh', { mode: 0o644 });
    await expect(root.access('/shared/script', 1)).rejects.toMatchObject({ code: 'EACCES' });
    await root.chmod('/shared/script', 0o744);
    await root.access('/shared/script', 1);
  });
});

describe('chmod and chown', () => {
  it('only the owner or root may chmod', async () => {
    await alice.writeFile('/shared/a-file', 'x', { mode: 0o644 });
    await expect(bob.chmod('/shared/a-file', 0o777)).rejects.toMatchObject({ code: 'EPERM', syscall: 'chmod' });
    await alice.chmod('/shared/a-file', 0o600);
    await root.chmod('/shared/a-file', 0o640);
    expect((await root.stat('/shared/a-file')).mode & 0o7777).toBe(0o640);
  });

  it('clears setgid when a non-root owner is outside the file group', async () => {
    await root.chown('/shared/a-file', 1000, 5000);
    await alice.chmod('/shared/a-file', 0o2755);
    expect((await root.stat('/shared/a-file')).mode & 0o7777).toBe(0o755);
    await root.chown('/shared/a-file', 1000, 3000);
    await alice.chmod('/shared/a-file', 0o2755);
    expect((await root.stat('/shared/a-file')).mode & 0o7777).toBe(0o2755);
  });

  it('only root changes the owner; the owner may change the group to one of its own', async () => {
    await expect(alice.chown('/shared/a-file', 1001, -1)).rejects.toMatchObject({ code: 'EPERM', syscall: 'chown' });
    await expect(alice.chown('/shared/a-file', -1, 1001)).rejects.toMatchObject({ code: 'EPERM' });
    await expect(bob.chown('/shared/a-file', -1, 1001)).rejects.toMatchObject({ code: 'EPERM' });
    await alice.chown('/shared/a-file', -1, 1000);
    const st = await root.stat('/shared/a-file');
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  it('chown clears setuid and setgid on files', async () => {
    await root.chmod('/shared/a-file', 0o6755);
    await root.chown('/shared/a-file', 1001, 1001);
    expect((await root.stat('/shared/a-file')).mode & 0o7777).toBe(0o755);
  });

  it('explicit times need ownership, "now" only write access', async () => {
    await alice.writeFile('/shared/times', 'x', { mode: 0o666 });
    await expect(bob.utimes('/shared/times', 1, 2)).rejects.toMatchObject({ code: 'EPERM', syscall: 'utime' });
    await alice.utimes('/shared/times', 1, 2);
    expect((await root.stat('/shared/times')).mtimeMs).toBe(2000);
  });
});

describe('special directories', () => {
  it('sticky bit: only the owner of the entry or the directory (or root) may remove it', async () => {
    await root.mkdir('/tmpdir', 0o777);
    await root.chmod('/tmpdir', 0o1777);
    await alice.writeFile('/tmpdir/alices', 'a');
    await expect(bob.unlink('/tmpdir/alices')).rejects.toMatchObject({ code: 'EPERM', syscall: 'unlink' });
    await expect(bob.rename('/tmpdir/alices', '/tmpdir/bobs')).rejects.toMatchObject({ code: 'EPERM', syscall: 'rename' });
    await bob.writeFile('/tmpdir/bobs', 'b');
    await bob.unlink('/tmpdir/bobs');
    await alice.unlink('/tmpdir/alices');
  });

  it('setgid directories hand down their group, and setgid to subdirectories', async () => {
    await root.mkdir('/team', 0o777);
    await root.chown('/team', 0, 3000);
    await root.chmod('/team', 0o2777);
    await bob.writeFile('/team/f', 'x');
    await bob.mkdir('/team/sub');
    const f = await root.stat('/team/f');
    const sub = await root.stat('/team/sub');
    expect(f.gid).toBe(3000);
    expect(sub.gid).toBe(3000);
    expect(sub.mode & 0o2000).toBe(0o2000);
    expect(f.mode & 0o2000).toBe(0);
  });

  it('device nodes are root-only', async () => {
    // The SDK has no mknod; the vfs is what the FUSE bridge calls.
    const dir = (await root.stat('/shared')).ino;
    await expect(bob.vfs.mknod(bob.caller, dir, 'dev', 0o20644, 0x0101)).rejects.toMatchObject({ code: 'EPERM' });
    const fifo = await bob.vfs.mknod(bob.caller, dir, 'fifo', 0o10644, 0);
    expect((await root.lstat('/shared/fifo')).isFIFO()).toBe(true);
    expect(fifo.uid).toBe(1001);
    const dev = await root.vfs.mknod(root.caller, dir, 'dev', 0o20644, 0x0101);
    expect(dev.rdev).toBe(0x0101);
    expect((await root.lstat('/shared/dev')).isCharacterDevice()).toBe(true);
  });
});
