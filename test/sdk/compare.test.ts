// The SDK against node:fs/promises on a real directory: each step runs on both, and the results
// (values, or error code + syscall + path) must be the same.
import { constants } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume } from '../../src/index.js';
import { makeRefDir, makeVolume, nodefs, outcome, type TestVolume } from './helpers.js';

type Fs = Volume;
/** node:fs/promises typed as the SDK (same shape) so one step function serves both. */
const ref$ = nodefs as unknown as Volume;
type Step = (fs: Fs, p: (rel: string) => string) => Promise<unknown>;

let tv: TestVolume;
let ref: string;

beforeAll(async () => {
  tv = await makeVolume();
  ref = await makeRefDir();
});

afterAll(async () => {
  await tv.cleanup();
  await rm(ref, { recursive: true, force: true });
});

async function same(step: Step): Promise<unknown> {
  const ours = await outcome(() => step(tv.vol, (rel) => (rel === '' ? '/' : `/${rel}`)), '');
  const theirs = await outcome(() => step(ref$, (rel) => (rel === '' ? ref : join(ref, rel))), ref);
  expect(ours).toEqual(theirs);
  return 'ok' in ours ? ours.ok : ours;
}

describe('files', () => {
  it('writeFile / readFile / appendFile / stat', async () => {
    await same((fs, p) => fs.writeFile(p('a.txt'), 'hello world'));
    expect(await same((fs, p) => fs.readFile(p('a.txt'), 'utf8'))).toBe('hello world');
    await same((fs, p) => fs.readFile(p('a.txt')));
    await same((fs, p) => fs.readFile(p('a.txt'), { encoding: 'base64' }));
    await same((fs, p) => fs.appendFile(p('a.txt'), Buffer.from('!!')));
    await same((fs, p) => fs.readFile(p('a.txt'), 'latin1'));
    await same((fs, p) => fs.stat(p('a.txt')));
    await same((fs, p) => fs.writeFile(p('a.txt'), 'x', { flag: 'wx' }));
    await same((fs, p) => fs.writeFile(p('b.txt'), new Uint8Array([1, 2, 3]), { flag: 'wx', mode: 0o600 }));
    await same((fs, p) => fs.stat(p('b.txt')));
    await same((fs, p) => fs.readFile(p('missing')));
    await same((fs, p) => fs.readFile(p('')));
    await same((fs, p) => fs.writeFile(p('a.txt/x'), 'x'));
    await same((fs, p) => fs.writeFile(p('nodir/x'), 'x'));
    await same((fs, p) => fs.writeFile(p(''), 'x'));
    await same((fs, p) => fs.readFile(p('a.txt/')));
  });

  it('a handle opened with O_TRUNC, or opened and then written, reads what the file holds now', async () => {
    const readAll = async (fs: Fs, path: string, flags: string, write?: string): Promise<string> => {
      const fh = await fs.open(path, flags);
      try {
        if (write !== undefined) await fh.write(write, 0);
        const buf = Buffer.alloc(64);
        const { bytesRead } = await fh.read(buf, 0, 64, 0);
        return `${bytesRead}:${buf.subarray(0, bytesRead).toString()}|${(await fh.readFile({ encoding: 'utf8' }))}`;
      } finally {
        await fh.close();
      }
    };
    await same((fs, p) => fs.writeFile(p('trunc.txt'), 'hello world'));
    expect(await same((fs, p) => readAll(fs, p('trunc.txt'), 'w+'))).toBe('0:|');
    await same((fs, p) => fs.writeFile(p('trunc.txt'), 'hello world'));
    expect(await same((fs, p) => readAll(fs, p('trunc.txt'), 'w+', 'abc'))).toBe('3:abc|abc');
    await same((fs, p) => fs.writeFile(p('trunc.txt'), 'hello world'));
    expect(await same((fs, p) => readAll(fs, p('trunc.txt'), 'r+', 'HELLO, WORLD!'))).toBe('13:HELLO, WORLD!|HELLO, WORLD!');
  });

  it('open with O_TRUNC stamps the times of a file that was empty already', async () => {
    await same((fs, p) => fs.writeFile(p('empty'), ''));
    await same((fs, p) => fs.utimes(p('empty'), 100_000, 100_000));
    await same(async (fs, p) => (await fs.open(p('empty'), 'w')).close());
    // The same "recent" on both sides: both stamped the current time.
    await same(async (fs, p) => Math.abs(Date.now() - (await fs.stat(p('empty'))).mtimeMs) < 60_000);
  });

  it('truncate grows with zeros and shrinks', async () => {
    await same((fs, p) => fs.writeFile(p('t'), 'abcdef'));
    await same((fs, p) => fs.truncate(p('t'), 3));
    await same((fs, p) => fs.readFile(p('t')));
    await same((fs, p) => fs.truncate(p('t'), 10));
    await same((fs, p) => fs.readFile(p('t')));
    await same((fs, p) => fs.truncate(p('t')));
    await same((fs, p) => fs.stat(p('t')));
    await same((fs, p) => fs.truncate(p('t'), -5));
    await same((fs, p) => fs.truncate(p(''), 1));
    await same((fs, p) => fs.truncate(p('none'), 1));
  });

  it('unlink, link and nlink', async () => {
    await same((fs, p) => fs.writeFile(p('l1'), 'data'));
    await same((fs, p) => fs.link(p('l1'), p('l2')));
    await same((fs, p) => fs.stat(p('l1')));
    await same((fs, p) => fs.link(p('l1'), p('l2')));
    await same((fs, p) => fs.link(p('none'), p('l3')));
    await same((fs, p) => fs.unlink(p('l1')));
    await same((fs, p) => fs.readFile(p('l2'), 'utf8'));
    await same((fs, p) => fs.stat(p('l2')));
    await same((fs, p) => fs.unlink(p('l1')));
    await same((fs, p) => fs.unlink(p('l2/')));
    await same((fs, p) => fs.mkdir(p('ld')));
    await same((fs, p) => fs.unlink(p('ld')));
    await same((fs, p) => fs.link(p('ld'), p('ld2')));
  });

  it('copyFile honours COPYFILE_EXCL and copies the mode', async () => {
    await same((fs, p) => fs.writeFile(p('c1'), 'copy me', { mode: 0o640 }));
    await same((fs, p) => fs.copyFile(p('c1'), p('c2')));
    await same((fs, p) => fs.readFile(p('c2'), 'utf8'));
    await same((fs, p) => fs.stat(p('c2')));
    await same((fs, p) => fs.copyFile(p('c1'), p('c2'), constants.COPYFILE_EXCL));
    await same((fs, p) => fs.copyFile(p('none'), p('c3')));
    await same((fs, p) => fs.copyFile(p('ld'), p('c3')));
  });

  it('access', async () => {
    await same((fs, p) => fs.access(p('c1')));
    await same((fs, p) => fs.access(p('c1'), constants.R_OK | constants.W_OK));
    await same((fs, p) => fs.access(p('c1'), constants.X_OK));
    await same((fs, p) => fs.access(p('none')));
    await same((fs, p) => fs.access(p('c1'), 8));
  });
});

describe('directories', () => {
  it('mkdir, recursive mkdir and its return value', async () => {
    await same((fs, p) => fs.mkdir(p('d1')));
    await same((fs, p) => fs.mkdir(p('d1')));
    await same((fs, p) => fs.mkdir(p('d1/e/f'), { recursive: true }).then((r) => (r === undefined ? r : r.replace(/^.*\/d1/, 'd1'))));
    await same((fs, p) => fs.mkdir(p('d1/e/f'), { recursive: true }));
    await same((fs, p) => fs.mkdir(p('c1/x'), { recursive: true }));
    await same((fs, p) => fs.mkdir(p('c1/x')));
    await same((fs, p) => fs.mkdir(p('none/x')));
    await same((fs, p) => fs.mkdir(p('d2'), 0o750));
    await same((fs, p) => fs.stat(p('d2')));
    await same((fs, p) => fs.mkdir(p('d3'), { mode: '700' }));
    await same((fs, p) => fs.stat(p('d3')));
    await same((fs, p) => fs.mkdir(p('')));
  });

  it('readdir with and without file types, recursive', async () => {
    await same((fs, p) => fs.writeFile(p('d1/file'), 'x'));
    await same((fs, p) => fs.symlink('file', p('d1/sym')));
    await same((fs, p) => fs.readdir(p('d1')));
    await same((fs, p) => fs.readdir(p('d1'), { withFileTypes: true }));
    await same((fs, p) => fs.readdir(p('d1'), { recursive: true }));
    await same((fs, p) => fs.readdir(p('d1/file')));
    await same((fs, p) => fs.readdir(p('none')));
    await same((fs, p) => fs.readdir(p('d1/sym')));
  });

  it('opendir iterates every entry once', async () => {
    const list = async (fs: Fs, dir: string) => {
      const names: string[] = [];
      for await (const d of await fs.opendir(dir)) names.push(d.name);
      return names;
    };
    await same((fs, p) => list(fs, p('d1')));
    await same((fs, p) => list(fs, p('d1/file')));
  });

  it('rmdir and rm', async () => {
    await same((fs, p) => fs.rmdir(p('d1')));
    await same((fs, p) => fs.rmdir(p('d1/file')));
    await same((fs, p) => fs.rmdir(p('none')));
    await same((fs, p) => fs.rmdir(p('d2')));
    await same((fs, p) => fs.rm(p('d1')));
    await same((fs, p) => fs.rm(p('none')));
    await same((fs, p) => fs.rm(p('none'), { force: true }));
    await same((fs, p) => fs.rm(p('d1'), { recursive: true }));
    await same((fs, p) => fs.stat(p('d1')));
  });

  it('rename files and directories, with every error', async () => {
    await same((fs, p) => fs.mkdir(p('r/a/b'), { recursive: true }));
    await same((fs, p) => fs.writeFile(p('r/f'), 'F'));
    await same((fs, p) => fs.writeFile(p('r/g'), 'G'));
    await same((fs, p) => fs.rename(p('r/f'), p('r/g')));
    await same((fs, p) => fs.readFile(p('r/g'), 'utf8'));
    await same((fs, p) => fs.rename(p('r/f'), p('r/h')));
    await same((fs, p) => fs.rename(p('r/g'), p('r/a')));
    await same((fs, p) => fs.rename(p('r/a'), p('r/g')));
    await same((fs, p) => fs.rename(p('r/a'), p('r/a/b/c')));
    await same((fs, p) => fs.mkdir(p('r/empty')));
    await same((fs, p) => fs.rename(p('r/empty'), p('r/a')));
    await same((fs, p) => fs.rename(p('r/a'), p('r/empty')));
    await same((fs, p) => fs.readdir(p('r'), { recursive: true }));
    await same((fs, p) => fs.rename(p('r/g'), p('r/g/')));
    await same((fs, p) => fs.rename(p('r/g'), p('r/empty/moved')));
    await same((fs, p) => fs.readdir(p('r'), { recursive: true }));
  });

  it('mkdtemp makes a fresh directory with the prefix', async () => {
    const ours = await tv.vol.mkdtemp('/tmp-');
    expect(ours).toMatch(/^\/tmp-[A-Za-z0-9]{6}$/);
    expect((await tv.vol.stat(ours)).isDirectory()).toBe(true);
    await same((fs, p) => fs.mkdtemp(p('none/x')).catch((e: { code: string; syscall: string }) => ({ code: e.code, syscall: e.syscall })));
  });
});

describe('symlinks and path resolution', () => {
  it('stat follows, lstat does not, readlink and realpath', async () => {
    await same((fs, p) => fs.mkdir(p('s/real'), { recursive: true }));
    await same((fs, p) => fs.writeFile(p('s/real/f'), 'x'));
    await same((fs, p) => fs.symlink('real', p('s/rel')));
    await same((fs, p) => fs.symlink(p('s/real/f'), p('s/abs')));
    await same((fs, p) => fs.symlink('nowhere', p('s/dangling')));
    await same((fs, p) => fs.stat(p('s/rel')));
    await same((fs, p) => fs.lstat(p('s/rel')).then((s) => s.isSymbolicLink()));
    await same((fs, p) => fs.readFile(p('s/rel/f'), 'utf8'));
    await same((fs, p) => fs.readFile(p('s/abs'), 'utf8'));
    await same((fs, p) => fs.readlink(p('s/rel')));
    await same((fs, p) => fs.readlink(p('s/real')));
    await same((fs, p) => fs.realpath(p('s/rel/../rel/./f')));
    await same((fs, p) => fs.stat(p('s/dangling')));
    await same((fs, p) => fs.lstat(p('s/dangling')).then((s) => s.isSymbolicLink()));
    await same((fs, p) => fs.symlink('x', p('s/rel')));
    await same((fs, p) => fs.writeFile(p('s/dangling'), 'created through the link'));
    await same((fs, p) => fs.readFile(p('s/nowhere'), 'utf8'));
    await same((fs, p) => fs.stat(p('s/real/f/')));
    await same((fs, p) => fs.stat(p('s/rel/')));
  });

  // Names are read along with the directories of a path in one go; a symlink on the way leaves
  // that line, and what is under the link must still be found.
  it('changes through a symlinked directory: rename, overwrite, append, mkdir, unlink', async () => {
    await same((fs, p) => fs.mkdir(p('t/real/sub'), { recursive: true }));
    await same((fs, p) => fs.symlink('real', p('t/link')));
    await same((fs, p) => fs.writeFile(p('t/real/f'), 'one'));
    await same((fs, p) => fs.writeFile(p('t/real/g'), 'two'));
    await same((fs, p) => fs.writeFile(p('t/link/f'), 'overwritten'));
    await same((fs, p) => fs.appendFile(p('t/link/f'), '+'));
    await same(async (fs, p) => (await fs.open(p('t/link/g'), 'a')).close());
    await same((fs, p) => fs.writeFile(p('t/link/f'), 'x', { flag: 'wx' }));
    await same((fs, p) => fs.rename(p('t/link/f'), p('t/link/g')));
    await same((fs, p) => fs.readFile(p('t/real/g'), 'utf8'));
    await same((fs, p) => fs.rename(p('t/link/f'), p('t/link/h')));
    await same((fs, p) => fs.rename(p('t/link/g'), p('t/link/h')));
    await same((fs, p) => fs.mkdir(p('t/link/d')));
    await same((fs, p) => fs.readdir(p('t/real')));
    await same((fs, p) => fs.mkdir(p('t/link/sub')));
    await same((fs, p) => fs.rename(p('t/link/d'), p('t/link/sub/d2')));
    await same((fs, p) => fs.rename(p('t/link/h'), p('t/link/sub/d2')));
    await same((fs, p) => fs.rename(p('t/link/sub/d2'), p('t/link/h/')));
    await same((fs, p) => fs.unlink(p('t/link/h')));
    await same((fs, p) => fs.unlink(p('t/link/h')));
    await same((fs, p) => fs.rmdir(p('t/link/sub/d2')));
    await same((fs, p) => fs.readdir(p('t/real'), { recursive: true }));
  });

  it('ELOOP after too many links', async () => {
    await same((fs, p) => fs.symlink('loop2', p('s/loop1')));
    await same((fs, p) => fs.symlink('loop1', p('s/loop2')));
    await same((fs, p) => fs.stat(p('s/loop1')));
    await same((fs, p) => fs.readFile(p('s/loop1')));
  });

  it('chmod, utimes and lutimes', async () => {
    await same((fs, p) => fs.chmod(p('s/real/f'), 0o600));
    await same((fs, p) => fs.chmod(p('s/real/f'), '755'));
    await same((fs, p) => fs.stat(p('s/real/f')));
    await same((fs, p) => fs.utimes(p('s/real/f'), 1_000_000, new Date(2_000_000_000)).then(() => fs.stat(p('s/real/f'))).then((s) => [s.atimeMs, s.mtimeMs]));
    await same((fs, p) => fs.utimes(p('s/real/f'), '12345.5', 7).then(() => fs.stat(p('s/real/f'))).then((s) => [s.atimeMs, s.mtimeMs]));
    await same((fs, p) => fs.lutimes(p('s/rel'), 5, 6).then(() => fs.lstat(p('s/rel'))).then((s) => [s.atimeMs, s.mtimeMs]));
    await same((fs, p) => fs.chmod(p('none'), 0o600));
  });
});

describe('more flags and encodings', () => {
  it('open flag strings behave like Node', async () => {
    const openClose = (fs: Fs, path: string, flags: string) => fs.open(path, flags).then((h) => h.close());
    for (const flags of ['r', 'r+', 'rs+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+', 'as', 'as+']) {
      await same((fs, p) => openClose(fs, p(`flags-${flags}`), flags));
      await same((fs, p) => openClose(fs, p(`flags-${flags}`), flags));
      await same((fs, p) => fs.stat(p(`flags-${flags}`)));
    }
    await same((fs, p) => fs.writeFile(p('flags-a'), 'more', { flag: 'a' }));
    await same((fs, p) => fs.readFile(p('flags-a'), { flag: 'a+', encoding: 'utf8' }));
    await same((fs, p) => fs.writeFile(p('flags-w'), 'x', { flag: 'r' }));
  });

  it('readdir with buffer encoding, rm of a tree holding symlinks', async () => {
    await same((fs, p) => fs.mkdir(p('enc/sub'), { recursive: true }));
    await same((fs, p) => fs.writeFile(p('enc/é'), ''));
    await same((fs, p) => fs.symlink('..', p('enc/sub/up')));
    await same((fs, p) => fs.readdir(p('enc'), { encoding: 'buffer' }).then((b) => b.map((x) => x.toString('hex')).sort()));
    await same((fs, p) => fs.readdir(p('enc'), 'utf8'));
    await same((fs, p) => fs.rm(p('enc'), { recursive: true, force: true }));
    await same((fs, p) => fs.stat(p('enc')));
  });

  it('nanosecond times through bigint stats', async () => {
    await same((fs, p) => fs.writeFile(p('ns'), ''));
    await same((fs, p) => fs.utimes(p('ns'), 1.5, 2.25).then(() => fs.stat(p('ns'), { bigint: true })).then((s) => [s.atimeNs, s.mtimeNs, s.atimeMs, s.mtimeMs, s.isFile()]));
  });

  it('lchown and chown with -1 keep the other id', async () => {
    await same((fs, p) => fs.symlink('ns', p('ns-link')));
    await same((fs, p) => fs.lchown(p('ns-link'), 123, -1).then(() => fs.lstat(p('ns-link'))).then((s) => [s.uid, s.gid]));
    await same((fs, p) => fs.chown(p('ns-link'), -1, 456).then(() => fs.stat(p('ns'))).then((s) => [s.uid, s.gid]));
  });
});

describe('bad input', () => {
  it('rejects bad paths, flags, modes and lengths the way Node does', async () => {
    await same((fs, p) => fs.readFile(p('a\u0000b')));
    await same((fs) => fs.readFile(5 as unknown as string));
    await same((fs, p) => fs.open(p('a.txt'), 'bogus'));
    await same((fs, p) => fs.open(p('a.txt'), 'r', 'xyz'));
    await same((fs, p) => fs.open(p('a.txt'), 'r', -1));
    await same((fs, p) => fs.truncate(p('a.txt'), 1.5));
    await same((fs, p) => fs.readFile(p('a.txt'), { encoding: 'nope' as BufferEncoding }));
    await same((fs, p) => fs.utimes(p('a.txt'), {} as Date, 1));
    await same((fs, p) => fs.chown(p('a.txt'), -2, 0));
    await same((fs, p) => fs.stat(p('x'.repeat(256))));
    await same((fs, p) => fs.mkdir(p(('y'.repeat(200) + '/').repeat(21))));
  });
});
