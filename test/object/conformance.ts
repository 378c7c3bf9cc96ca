// The behaviour every ObjectStore backend promises (file, prefix wrapper, S3, ...). Each backend's
// test file calls objectStoreConformance with a factory for a fresh, empty store.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListOptions, ListPage, ObjectStore } from '../../src/object/store.js';
import { byteOrder, referenceList } from './reference.js';

export interface StoreUnderTest {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

function summary(page: ListPage): { keys: string[]; prefixes: string[]; truncated: boolean; next?: string } {
  return {
    keys: page.objects.map((o) => o.key),
    prefixes: page.prefixes,
    truncated: page.truncated,
    ...(page.next !== undefined ? { next: page.next } : {}),
  };
}

/** Every entry reachable by paging with `next`, checking each page against the reference. */
async function pageThrough(store: ObjectStore, keys: Set<string>, o: ListOptions): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const out = { keys: [] as string[], prefixes: [] as string[], pages: 0 };
  let startAfter = o.startAfter;
  for (;;) {
    const page = await store.list({ ...o, startAfter });
    expect(summary(page)).toEqual(referenceList(keys, { ...o, startAfter }));
    out.keys.push(...page.objects.map((x) => x.key));
    out.prefixes.push(...page.prefixes);
    out.pages++;
    if (!page.truncated) return out;
    expect(page.next).toBeDefined();
    startAfter = page.next;
  }
}

/** Run `fn` over `items` with at most `width` in flight. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

/** An object whose every byte is `v` and whose length depends on `v`: any mix of two versions shows. */
function version(v: number): Buffer {
  return Buffer.alloc(32 * 1024 + v * 97, v);
}

const BAD_KEYS: [string, string][] = [
  ['empty', ''],
  ['leading slash', '/a'],
  ['trailing slash', 'a/'],
  ['dot-dot segment', 'a/../b'],
  ['only dot-dot', '..'],
  ['dot segment', 'a/./b'],
  ['empty segment', 'a//b'],
  ['NUL byte', 'a\0b'],
  ['over 1024 bytes', `${'x'.repeat(200)}/`.repeat(5) + 'y'.repeat(20)],
  ['lone surrogate', 'a\uD800b'],
];

export function objectStoreConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ObjectStore;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });

    afterEach(async () => {
      await sut.store.close();
      await sut.cleanup();
    });

    it('starts empty and describes itself', async () => {
      expect(await store.list()).toEqual({ objects: [], prefixes: [], truncated: false });
      expect(typeof store.describe()).toBe('string');
      expect(store.describe().length).toBeGreaterThan(0);
    });

    it('round-trips binary data, given whole or in parts', async () => {
      const every = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      const big = randomBytes(3 * 1024 * 1024 + 17);
      await store.put('bin/every-byte', every);
      await store.put('bin/big', big);
      await store.put('bin/parts', [big.subarray(0, 1000), new Uint8Array(0), big.subarray(1000, 5000), every]);
      expect(await store.get('bin/every-byte')).toEqual(every);
      const got = await store.get('bin/big');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.equals(big)).toBe(true);
      expect((await store.get('bin/parts')).equals(Buffer.concat([big.subarray(0, 5000), every]))).toBe(true);
      // A Uint8Array view into a larger buffer stores only its own bytes.
      const backing = randomBytes(100);
      await store.put('bin/view', new Uint8Array(backing.buffer, backing.byteOffset + 10, 50));
      expect((await store.get('bin/view')).equals(backing.subarray(10, 60))).toBe(true);
    });

    it('stores and reads empty objects', async () => {
      await store.put('empty', new Uint8Array(0));
      await store.put('empty-parts', []);
      expect((await store.get('empty')).length).toBe(0);
      expect((await store.get('empty', { offset: 0, length: 10 })).length).toBe(0);
      expect(await store.getInto('empty', 0, new Uint8Array(8))).toBe(0);
      expect((await store.head('empty'))?.size).toBe(0);
      expect((await store.head('empty-parts'))?.size).toBe(0);
      expect((await store.list()).objects.map((o) => [o.key, o.size])).toEqual([
        ['empty', 0],
        ['empty-parts', 0],
      ]);
    });

    it('reads ranges: start, middle, end, past the end, zero length', async () => {
      const data = randomBytes(10_000);
      await store.put('r', data);
      const cases: [number, number][] = [
        [0, 100],
        [0, 10_000],
        [4321, 1234],
        [9_990, 10],
        [9_990, 100], // runs past the end: what exists
        [10_000, 5], // starts at the end
        [20_000, 5], // starts past the end
        [500, 0],
        [0, 0],
      ];
      for (const [offset, length] of cases) {
        const want = data.subarray(Math.min(offset, data.length), Math.min(offset + length, data.length));
        expect((await store.get('r', { offset, length })).equals(want), `get ${offset}+${length}`).toBe(true);
        const target = Buffer.alloc(length, 0xee);
        const n = await store.getInto('r', offset, target);
        expect(n, `getInto ${offset}+${length}`).toBe(want.length);
        expect(target.subarray(0, n).equals(want)).toBe(true);
        expect(target.subarray(n).every((b) => b === 0xee), 'bytes past the object are untouched').toBe(true);
      }
    });

    it('getInto fills a view in place without touching the bytes around it', async () => {
      const data = randomBytes(4096);
      await store.put('into', data);
      const backing = Buffer.alloc(8192, 0x55);
      const view = backing.subarray(1000, 1000 + 2048);
      expect(await store.getInto('into', 1024, view)).toBe(2048);
      expect(view.equals(data.subarray(1024, 3072))).toBe(true);
      expect(backing.subarray(0, 1000).every((b) => b === 0x55)).toBe(true);
      expect(backing.subarray(3048).every((b) => b === 0x55)).toBe(true);
      expect(await store.getInto('into', 0, new Uint8Array(0))).toBe(0);
    });

    it('names each version of an object with an etag (head and list agree); getInto with an old one is ESTALE, with the current one reads', async () => {
      await store.put('versioned', randomBytes(5000));
      const first = await store.head('versioned');
      expect(first?.etag).toMatch(/\S/);
      const listed = (await store.list({ prefix: 'versioned' })).objects.find((o) => o.key === 'versioned');
      expect(listed?.etag).toBe(first!.etag);
      const view = Buffer.alloc(100);
      expect(await store.getInto('versioned', 10, view, { etag: first!.etag })).toBe(100);
      // A new version (a different size, so even a clock too coarse to move tells it apart).
      await store.put('versioned', randomBytes(6000));
      const second = await store.head('versioned');
      expect(second?.etag).not.toBe(first!.etag);
      const err = await store.getInto('versioned', 10, view, { etag: first!.etag }).then(() => null, (e: unknown) => e as { code?: string; message?: string });
      expect(err?.code).toBe('ESTALE');
      expect(err?.message).toContain('versioned');
      expect(await store.getInto('versioned', 0, Buffer.alloc(6000), { etag: second!.etag })).toBe(6000);
    });

    it('reports a missing key as ENOENT naming the key, from get and getInto', async () => {
      await store.put('present', Buffer.from('x'));
      for (const read of [() => store.get('missing/key'), () => store.get('missing/key', { offset: 0, length: 1 }), () => store.getInto('missing/key', 0, new Uint8Array(4))]) {
        const err = await read().then(
          () => null,
          (e: unknown) => e as Error & { code?: string; path?: string },
        );
        expect(err).toBeInstanceOf(Error);
        expect(err?.code).toBe('ENOENT');
        expect(err?.message).toContain('missing/key');
      }
      // A "directory" holding other keys is not an object either.
      await store.put('dir/child', Buffer.from('c'));
      await expect(store.get('dir')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await store.head('dir')).toBeUndefined();
    });

    it('rejects bad ranges with EINVAL', async () => {
      await store.put('r', Buffer.from('abc'));
      for (const range of [
        { offset: -1, length: 1 },
        { offset: 0, length: -1 },
        { offset: 1.5, length: 1 },
        { offset: 0, length: Number.NaN },
      ]) {
        await expect(store.get('r', range)).rejects.toMatchObject({ code: 'EINVAL' });
      }
      await expect(store.getInto('r', -5, new Uint8Array(1))).rejects.toMatchObject({ code: 'EINVAL' });
    });

    it('overwrites atomically: a concurrent reader sees one whole version, never a mix', async () => {
      await store.put('hot', version(0));
      const writes = 40;
      let writing = true;
      const seen = new Set<number>();
      const reader = async (): Promise<void> => {
        while (writing) {
          const got = await store.get('hot');
          const v = got[0];
          expect(got.length, 'length matches the version').toBe(version(v).length);
          expect(got.every((b) => b === v), 'every byte from one version').toBe(true);
          seen.add(v);
          // A range read also comes from one version.
          const part = await store.get('hot', { offset: 1000, length: 5000 });
          expect(part.every((b) => b === part[0])).toBe(true);
        }
      };
      const writer = async (): Promise<void> => {
        for (let v = 1; v <= writes; v++) await store.put('hot', version(v));
        writing = false;
      };
      await Promise.all([writer(), reader(), reader()]);
      expect((await store.get('hot')).equals(version(writes))).toBe(true);
      expect(seen.size).toBeGreaterThan(0);
    });

    it('concurrent puts to one key leave exactly one of the written versions', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, v) => store.put('contended', version(v + 1))));
      const got = await store.get('contended');
      expect(got.equals(version(got[0]))).toBe(true);
      expect((await store.list()).objects.map((o) => o.key)).toEqual(['contended']);
    });

    it('deletes idempotently', async () => {
      await store.delete('never/existed');
      await store.put('d/x', Buffer.from('1'));
      await store.put('d/y', Buffer.from('2'));
      await store.delete('d/x');
      await store.delete('d/x');
      await expect(store.get('d/x')).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await store.head('d/x')).toBeUndefined();
      expect((await store.get('d/y')).toString()).toBe('2');
      await store.delete('d/y');
      expect(await store.list()).toEqual({ objects: [], prefixes: [], truncated: false });
      // The key can be written again after its neighbours are gone.
      await store.put('d/x', Buffer.from('3'));
      expect((await store.get('d/x')).toString()).toBe('3');
    });

    it('heads: size and modification time, undefined when missing', async () => {
      const before = Date.now();
      await store.put('h/obj', randomBytes(1234));
      const info = await store.head('h/obj');
      expect(info?.key).toBe('h/obj');
      expect(info?.size).toBe(1234);
      expect(info?.mtime).toBeInstanceOf(Date);
      // Sanity, not timing: the store's clock is today's clock.
      expect(Math.abs(info!.mtime.getTime() - before)).toBeLessThan(24 * 3600 * 1000);
      expect(await store.head('h/missing')).toBeUndefined();
      expect(await store.head('h')).toBeUndefined();
      await store.put('h/obj', randomBytes(10));
      expect((await store.head('h/obj'))?.size).toBe(10);
    });

    it('lists in byte order with sizes, by prefix, startAfter, delimiter and limit', async () => {
      // Byte order differs from JS string order for the last two ('\uE000' < '😀' in UTF-8).
      const keys = ['a-b', 'a/b/c', 'a/b/d', 'a/c', 'a0', 'b', 'ba/x', 'é/1', '\uE000', '😀', 'a/b-/e', 'a/bb'];
      for (const [i, k] of keys.entries()) await store.put(k, Buffer.alloc(i + 1));
      const all = await store.list();
      expect(all.objects.map((o) => o.key)).toEqual([...keys].sort(byteOrder));
      for (const o of all.objects) expect(o.size).toBe(keys.indexOf(o.key) + 1);
      const set = new Set(keys);
      const queries: ListOptions[] = [
        {},
        { prefix: 'a' },
        { prefix: 'a/' },
        { prefix: 'a/b' },
        { prefix: 'a/b/' },
        { prefix: 'zzz' },
        { delimiter: '/' },
        { prefix: 'a/', delimiter: '/' },
        { prefix: 'a', delimiter: '/' },
        { delimiter: '-' },
        { delimiter: 'b' },
        { startAfter: 'a/b/c' },
        { startAfter: 'a/' },
        { startAfter: 'a/b/' , delimiter: '/', prefix: 'a/' },
        { startAfter: 'a/b/c', delimiter: '/', prefix: 'a/' },
        { startAfter: 'a', delimiter: '/' },
        { startAfter: '😀' },
        { startAfter: '' },
        { limit: 1 },
        { limit: 3, delimiter: '/' },
        { prefix: 'a/', limit: 2 },
      ];
      for (const q of queries) expect(summary(await store.list(q)), JSON.stringify(q)).toEqual(referenceList(set, q));
    });

    it('pages one entry at a time past common prefixes that follow each other', async () => {
      // Page 3 starts after `b/`; a service that lists `b/` again returns it with `c/`, and the
      // one entry still wanted after dropping the repeat is `c/` itself, which such a service
      // repeats again. A backend that asks for that one entry from `c/` never gets past it.
      const keys = ['a', 'b/1', 'c/1', 'd/1', 'e'];
      for (const k of keys) await store.put(k, Buffer.from(k));
      for (const limit of [1, 2]) {
        const paged = await pageThrough(store, new Set(keys), { delimiter: '/', limit });
        expect([...paged.keys, ...paged.prefixes].sort(byteOrder), `limit ${limit}`).toEqual(['a', 'b/', 'c/', 'd/', 'e']);
      }
    });

    it('pages through 2,500 keys with limit and next, with and without a delimiter', async () => {
      const keys: string[] = [];
      for (let i = 0; i < 2500; i++) keys.push(i % 5 === 0 ? `top-${i}` : `d${i % 4}/${i % 3 === 0 ? `s${i % 11}/` : ''}k${i}`);
      await inParallel(keys, 16, (k) => store.put(k, Buffer.from(k)));
      const set = new Set(keys);
      const sorted = [...keys].sort(byteOrder);

      const full = await pageThrough(store, set, {});
      expect(full.keys).toEqual(sorted);
      expect(full.pages).toBe(3); // 1000 + 1000 + 500

      const small = await pageThrough(store, set, { limit: 333, prefix: 'd1/' });
      expect(small.keys).toEqual(sorted.filter((k) => k.startsWith('d1/')));

      const rolled = await pageThrough(store, set, { delimiter: '/', limit: 7 });
      expect(rolled.prefixes).toEqual(['d0/', 'd1/', 'd2/', 'd3/']);
      expect(rolled.keys).toEqual(sorted.filter((k) => !k.includes('/')));

      const nested = await pageThrough(store, set, { prefix: 'd2/', delimiter: '/', limit: 50 });
      expect(new Set(nested.prefixes).size).toBe(nested.prefixes.length);
      expect([...nested.keys, ...nested.prefixes].length).toBeGreaterThan(50);
    });

    it('rejects bad keys with EINVAL naming the key, and writes nothing', async () => {
      for (const [why, key] of BAD_KEYS) {
        const attempts: [string, () => Promise<unknown>][] = [
          ['put', () => store.put(key, Buffer.from('data'))],
          ['get', () => store.get(key)],
          ['getInto', () => store.getInto(key, 0, new Uint8Array(4))],
          ['head', () => store.head(key)],
          ['delete', () => store.delete(key)],
        ];
        for (const [op, attempt] of attempts) {
          const err = await attempt().then(
            () => null,
            (e: unknown) => e as Error & { code?: string },
          );
          expect(err?.code, `${op} of a key with ${why}`).toBe('EINVAL');
          expect(err?.message, `${op} of a key with ${why} names the key`).toContain(JSON.stringify(key).slice(1, 30));
        }
      }
      expect(await store.list()).toEqual({ objects: [], prefixes: [], truncated: false });
      // Long keys work (1,000 bytes leaves room for a wrapper's prefix within the 1,024 limit).
      const longest = `${'x'.repeat(200)}/`.repeat(4) + 'é'.repeat(98);
      expect(Buffer.byteLength(longest)).toBe(1000);
      await store.put(longest, Buffer.from('ok'));
      expect((await store.get(longest)).toString()).toBe('ok');
    });

    it('rejects bad list options with EINVAL', async () => {
      for (const o of [{ limit: 0 }, { limit: -1 }, { limit: 1.5 }, { delimiter: '' }, { prefix: 'a\0' }]) {
        await expect(store.list(o), JSON.stringify(o)).rejects.toMatchObject({ code: 'EINVAL' });
      }
    });

    it('serves many parallel puts and gets', async () => {
      const n = 300;
      const data = Array.from({ length: n }, (_, i) => randomBytes(100 + ((i * 7919) % 20_000)));
      await Promise.all(data.map((d, i) => store.put(`par/${i % 10}/${i}`, d)));
      const got = await Promise.all(data.map((_, i) => store.get(`par/${i % 10}/${i}`)));
      got.forEach((g, i) => expect(g.equals(data[i]), `object ${i}`).toBe(true));
      // Deletes racing puts of neighbours in the same "directory" lose nothing.
      await Promise.all(data.map((d, i) => (i % 2 ? store.delete(`par/${i % 10}/${i}`) : store.put(`par/${i % 10}/${i}.b`, d))));
      const listed = await pageThrough(store, new Set(data.flatMap((_, i) => (i % 2 ? [] : [`par/${i % 10}/${i}`, `par/${i % 10}/${i}.b`]))), {});
      expect(listed.keys.length).toBe(n);
    });

    it('matches an in-memory model under random puts, deletes, gets and lists', async () => {
      // Directory-like segments never also appear as leaves, so every key set is representable by
      // every backend (a local directory cannot hold both `a` and `a/b`).
      const dirs = ['d', 'd-', 'd0', 'é', 'x y'];
      const leaves = ['f', 'f.1', 'g', '😀', '\uE000', 'f-'];
      const key = fc
        .tuple(fc.array(fc.constantFrom(...dirs), { maxLength: 2 }), fc.constantFrom(...leaves))
        .map(([path, leaf]) => [...path, leaf].join('/'));
      const op = fc.oneof(
        fc.record({ kind: fc.constant('put' as const), key, size: fc.nat({ max: 300 }), fill: fc.nat({ max: 255 }) }),
        fc.record({ kind: fc.constant('delete' as const), key }),
        fc.record({ kind: fc.constant('get' as const), key }),
        fc.record({
          kind: fc.constant('list' as const),
          prefix: fc.option(fc.constantFrom('', 'd', 'd/', 'd-', 'é/', 'f'), { nil: undefined }),
          delimiter: fc.option(fc.constantFrom('/', '-', '.'), { nil: undefined }),
          limit: fc.integer({ min: 1, max: 4 }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
          const model = new Map<string, Buffer>();
          for (const o of ops) {
            if (o.kind === 'put') {
              const data = Buffer.alloc(o.size, o.fill);
              await store.put(o.key, data);
              model.set(o.key, data);
            } else if (o.kind === 'delete') {
              await store.delete(o.key);
              model.delete(o.key);
            } else if (o.kind === 'get') {
              const want = model.get(o.key);
              if (want) expect((await store.get(o.key)).equals(want)).toBe(true);
              else await expect(store.get(o.key)).rejects.toMatchObject({ code: 'ENOENT' });
              expect((await store.head(o.key))?.size).toBe(want?.length);
            } else {
              const opts: ListOptions = { limit: o.limit };
              if (o.prefix !== undefined) opts.prefix = o.prefix;
              if (o.delimiter !== undefined) opts.delimiter = o.delimiter;
              await pageThrough(store, new Set(model.keys()), opts);
            }
          }
          // Leave the store empty for the next run.
          await Promise.all([...model.keys()].map((k) => store.delete(k)));
          expect((await store.list()).objects).toEqual([]);
        }),
        { numRuns: 60 },
      );
    });
  });
}
