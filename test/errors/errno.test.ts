import { mkdir, mkdtemp, open, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir, constants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError, errnoError, errorCode, fromSystemError, isStrataError } from '../../src/errors/errno.js';

type SystemError = Error & { code: string; errno: number; syscall: string; path?: string };

async function nodeError(fn: () => Promise<unknown>): Promise<SystemError> {
  try {
    await fn();
  } catch (err) {
    return err as SystemError;
  }
  throw new Error('expected node:fs to fail');
}

describe('errnoError', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-errno-'));
    await writeFile(join(dir, 'file'), 'x');
    await mkdir(join(dir, 'full'));
    await writeFile(join(dir, 'full', 'f'), 'x');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('looks exactly like the error node:fs raises for the same failure', async () => {
    const cases: [string, string, string, () => Promise<unknown>][] = [
      ['ENOENT', 'open', join(dir, 'missing'), () => open(join(dir, 'missing'))],
      ['EEXIST', 'mkdir', join(dir, 'file'), () => mkdir(join(dir, 'file'))],
      ['ENOTDIR', 'open', join(dir, 'file', 'x'), () => open(join(dir, 'file', 'x'))],
      ['EISDIR', 'read', '', () => readFile(dir)],
      ['ENOTEMPTY', 'rmdir', join(dir, 'full'), () => rmdir(join(dir, 'full'))],
    ];
    for (const [code, syscall, path, fn] of cases) {
      const theirs = await nodeError(fn);
      const ours = errnoError(code, syscall, path === '' ? undefined : path);
      expect({ code: ours.code, errno: ours.errno, syscall: ours.syscall, path: ours.path, message: ours.message, name: ours.name }).toEqual({
        code: theirs.code,
        errno: theirs.errno,
        syscall: theirs.syscall,
        path: theirs.path,
        message: theirs.message,
        name: theirs.name,
      });
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      expect(ours.stack?.split('\n')[0]).toBe(`Error: ${theirs.message}`);
    }
  });

  it('carries the negative errno Node uses for every code the core raises', () => {
    const codes = ['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'EINVAL', 'EACCES', 'EPERM', 'EIO', 'ENAMETOOLONG', 'EXDEV', 'ELOOP', 'EBADF', 'ENOSPC', 'ENOTSUP', 'ENODATA', 'ERANGE', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'EMLINK', 'EFBIG', 'EROFS', 'ESTALE', 'EDQUOT'];
    for (const code of codes) {
      const e = errnoError(code, 'op');
      expect(e.errno, code).toBe(-(constants.errno as Record<string, number>)[code]);
      expect(e.message.startsWith(`${code}: `)).toBe(true);
      expect(e.message).not.toContain('unknown error');
    }
  });

  it('adds detail after the Node-shaped message and keeps the cause', () => {
    const cause = new Error('socket hang up');
    const e = errnoError('EIO', 'read', 'chunks/0/0/1_0_4096', 'block failed verification', cause);
    expect(e.message).toBe("EIO: i/o error, read 'chunks/0/0/1_0_4096' (block failed verification)");
    expect(e.cause).toBe(cause);
    expect(e.detail).toBe('block failed verification');
    expect(e).toBeInstanceOf(StrataError);
    expect(e).toBeInstanceOf(Error);
    expect(errnoError('EBADF', 'write').message).toBe('EBADF: bad file descriptor, write');
    expect('cause' in errnoError('EBADF', 'write')).toBe(false);
  });

  it('guards by type and code', () => {
    const e = errnoError('ENOENT', 'open', '/x');
    expect(isStrataError(e)).toBe(true);
    expect(isStrataError(e, 'ENOENT')).toBe(true);
    expect(isStrataError(e, 'EEXIST')).toBe(false);
    expect(isStrataError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isStrataError(null)).toBe(false);
    expect(errorCode(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errorCode(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });

  it('turns Node system errors into StrataErrors for the core, keeping the original as cause', async () => {
    const theirs = await nodeError(() => open(join(dir, 'missing')));
    const ours = fromSystemError(theirs, 'get', 'some/key');
    expect(ours).toMatchObject({ code: 'ENOENT', errno: theirs.errno, syscall: 'get', path: 'some/key' });
    expect(ours.cause).toBe(theirs);
    const plain = fromSystemError(new Error('boom'), 'put', 'k');
    expect(plain.code).toBe('EIO');
    expect(plain.message).toContain('boom');
    expect(fromSystemError(ours, 'other')).toBe(ours);
  });

  it('still raises an I/O-class error for a code the OS does not know', () => {
    const e = errnoError('ENOTACODE', 'op', '/p');
    expect(e.code).toBe('ENOTACODE');
    expect(e.errno).toBe(-(constants.errno as Record<string, number>).EIO);
    expect(e.message).toBe("ENOTACODE: unknown error, op '/p'");
  });
});
