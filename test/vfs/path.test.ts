import { describe, expect, it } from 'vitest';
import { parsePath, pathProblem } from '../../src/vfs/path.js';

describe('pathProblem', () => {
  it('applies the kernel limits: PATH_MAX counts the NUL, NAME_MAX counts bytes', () => {
    const long = ('/' + 'a'.repeat(99)).repeat(40); // 4000 bytes
    expect(pathProblem(long + '/' + 'b'.repeat(94))).toBeNull(); // 4095 bytes
    expect(pathProblem(long + '/' + 'b'.repeat(95))).toBe('ENAMETOOLONG'); // 4096 bytes
    expect(pathProblem('/' + 'a'.repeat(255))).toBeNull();
    expect(pathProblem('/' + 'a'.repeat(256))).toBe('ENAMETOOLONG');
    // 128 two-byte characters are 256 bytes.
    expect(pathProblem('/' + 'é'.repeat(128))).toBe('ENAMETOOLONG');
    expect(pathProblem('')).toBe('ENOENT');
    expect(pathProblem('/a\u0000b')).toBe('EINVAL');
  });
});

describe('parsePath', () => {
  it('drops empty and "." components and remembers a trailing slash or dot', () => {
    expect(parsePath('/a//b/./c')).toEqual({ parts: ['a', 'b', 'c'], trailingSlash: false, trailingDot: false });
    expect(parsePath('a/b/')).toEqual({ parts: ['a', 'b'], trailingSlash: true, trailingDot: false });
    expect(parsePath('/a/.')).toEqual({ parts: ['a'], trailingSlash: true, trailingDot: true });
    expect(parsePath('/a/./')).toEqual({ parts: ['a'], trailingSlash: true, trailingDot: true });
    expect(parsePath('/')).toEqual({ parts: [], trailingSlash: false, trailingDot: false });
    expect(parsePath('/a/../b')).toEqual({ parts: ['a', '..', 'b'], trailingSlash: false, trailingDot: false });
  });
});
