// Bad input at the SDK's door: opening what was never formatted, formatting under an impossible
// name. Each fails with a clear errno-style error and leaves nothing behind.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-fault-input-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    () => { throw new Error('expected the call to fail'); },
    (e: unknown) => e as Error & { code?: string },
  );
}

describe('Volume.open of a volume that does not exist', () => {
  it('fails with ENOENT saying how to format one, and creates no file', async () => {
    const db = join(dir, 'nowhere', 'meta.db');
    const err = await failure(Volume.open(`sqlite3://${db}`));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain('strata format');
    expect(err.message).toContain(db);
    expect(existsSync(db)).toBe(false);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('an existing directory without meta.db: ENOENT, and still no file created', async () => {
    const db = join(dir, 'meta-missing.db');
    const err = await failure(Volume.open(`sqlite3://${db}`));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain('strata format');
    expect(existsSync(db)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.startsWith('meta-missing'))).toEqual([]);
  });
});

describe('Volume.format with an impossible volume name', () => {
  for (const [label, name, says] of [
    ['containing "/"', 'a/b', /"\/"|slash/],
    ['containing NUL', 'a\0b', /NUL/],
  ] as const) {
    it(`${label}: EINVAL with a message naming the problem, nothing created`, async () => {
      const sub = join(dir, label.replace(/\W+/g, '-'));
      const db = join(sub, 'meta.db');
      const storage = join(sub, 'objects');
      const err = await failure(Volume.format(`sqlite3://${db}`, { name, storage: `file://${storage}`, trashDays: 0, blockSize: 65536 }));
      expect(err.code).toBe('EINVAL');
      expect(err.message).toMatch(/volume name/);
      expect(err.message).toMatch(says);
      expect(existsSync(db)).toBe(false);
      expect(existsSync(storage)).toBe(false);
      expect(existsSync(sub)).toBe(false);
      // And the name being refused, opening there still says there is no volume.
      expect((await failure(Volume.open(`sqlite3://${db}`))).code).toBe('ENOENT');
    });
  }
});
