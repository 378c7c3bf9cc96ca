// ListObjects v1 and v2 against a model: S3's order (UTF-8 bytes), prefixes, delimiters,
// markers, continuation tokens, start-after, url encoding, fetch-owner — and 10,000 keys paged.
import { CreateBucketCommand, ListObjectVersionsCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/gateway/listing.js';
import { rawRequest, s3Failure, startTestGateway, type TestGateway } from './harness.js';

let t: TestGateway;

const KEYS = [
  'a-b', 'a/bb', 'a/b/c', 'a/b/d', 'a/c', 'a0', 'a.', 'b/x', 'b/y/z', 'dir/sub/f1', 'dir/sub/f2', 'dir/top',
  'e\u00e9', 'e\uffef', 'e\u{1f600}', 'space key', 'plus+key', 'pct%key', 'amp&<key>', 'z',
];

type Item = { key?: string; prefix?: string };
const itemName = (i: Item) => (i.key ?? i.prefix) as string;

/** What S3 returns for a listing, computed from the key set. */
function model(keys: string[], prefix: string, delimiter: string, after: string) {
  const out: Item[] = [];
  let lastPrefix: string | null = null;
  for (const k of [...keys].sort(compareKeys)) {
    if (!k.startsWith(prefix)) continue;
    const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    if (at >= 0) {
      const p = k.slice(0, at + delimiter.length);
      if (p === lastPrefix || compareKeys(p, after) <= 0) continue;
      lastPrefix = p;
      out.push({ prefix: p });
    } else if (compareKeys(k, after) > 0) {
      out.push({ key: k });
    }
  }
  return out;
}

async function listAllV2(bucket: string, prefix: string, delimiter: string, maxKeys: number, startAfter?: string) {
  const out: Item[] = [];
  let token: string | undefined;
  let pages = 0;
  for (;;) {
    const r: ListObjectsV2CommandOutput = await t.s3.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: prefix || undefined, Delimiter: delimiter || undefined, MaxKeys: maxKeys, ContinuationToken: token, StartAfter: startAfter,
    }));
    pages++;
    const page: Item[] = [...(r.Contents ?? []).map((c) => ({ key: c.Key! })), ...(r.CommonPrefixes ?? []).map((p) => ({ prefix: p.Prefix! }))];
    expect(page.length).toBeLessThanOrEqual(maxKeys);
    expect(r.KeyCount).toBe(page.length);
    out.push(...page.sort((x, y) => compareKeys(itemName(x), itemName(y))));
    if (!r.IsTruncated) break;
    expect(r.NextContinuationToken).toBeTruthy();
    token = r.NextContinuationToken;
  }
  return { items: out, pages };
}

beforeAll(async () => {
  t = await startTestGateway();
  await t.s3.send(new CreateBucketCommand({ Bucket: 'list' }));
  for (const key of KEYS) await t.s3.send(new PutObjectCommand({ Bucket: 'list', Key: key, Body: key }));
});

afterAll(async () => {
  await t?.cleanup();
});

describe('ListObjectsV2', () => {
  it('lists every key in UTF-8 byte order, with sizes and ETags', async () => {
    const r = await t.s3.send(new ListObjectsV2Command({ Bucket: 'list' }));
    expect(r.Contents!.map((c) => c.Key)).toEqual([...KEYS].sort(compareKeys));
    expect(r.IsTruncated).toBe(false);
    const a = r.Contents!.find((c) => c.Key === 'a/b/c')!;
    expect(a.Size).toBe(5);
    expect(a.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(a.StorageClass).toBe('STANDARD');
    expect(a.Owner).toBeUndefined();
    expect((await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', FetchOwner: true }))).Contents![0].Owner?.ID).toBeTruthy();
  });

  it('matches the model for every prefix, delimiter, page size and start-after', async () => {
    const prefixes = ['', 'a', 'a/', 'a/b', 'a/b/', 'dir/', 'dir/sub/', 'e', 'nothing', 'b/y'];
    const delimiters = ['', '/', 'b', '-'];
    for (const prefix of prefixes) {
      for (const delimiter of delimiters) {
        for (const max of [1, 3, 1000]) {
          const want = model(KEYS, prefix, delimiter, '');
          const got = await listAllV2('list', prefix, delimiter, max);
          expect(got.items, `prefix=${prefix} delimiter=${delimiter} max=${max}`).toEqual(want);
        }
      }
    }
    for (const after of ['a', 'a/b', 'a/b/c', 'b', 'dir/sub/', 'e', 'zz']) {
      expect((await listAllV2('list', '', '/', 2, after)).items, after).toEqual(model(KEYS, '', '/', after));
      expect((await listAllV2('list', '', '', 4, after)).items, after).toEqual(model(KEYS, '', '', after));
    }
  });

  it('encoding-type=url encodes keys and prefixes', async () => {
    const r = await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', EncodingType: 'url', Prefix: 's' }));
    expect(r.Contents!.map((c) => c.Key)).toEqual(['space%20key']);
    const amp = await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', EncodingType: 'url', Prefix: 'amp' }));
    expect(decodeURIComponent(amp.Contents![0].Key!)).toBe('amp&<key>');
    const bad = await rawRequest(t.gw.url, 'GET', '/list?list-type=2&encoding-type=base64');
    expect(bad.status).toBe(403); // unsigned: refused before anything else
  });

  it('refuses a bad continuation token and a bad max-keys', async () => {
    expect(await s3Failure(t.s3.send(new ListObjectsV2Command({ Bucket: 'list', ContinuationToken: 'not-a-token' })))).toEqual({ code: 'InvalidArgument', status: 400 });
    expect(await s3Failure(t.s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: -1 })))).toMatchObject({ status: 400 });
    expect(await s3Failure(t.s3.send(new ListObjectsV2Command({ Bucket: 'missing-bucket' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  it('max-keys=0 lists nothing and is not truncated; an empty continuation token starts at the beginning', async () => {
    for (const r of [await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: 0 })), await t.s3.send(new ListObjectsCommand({ Bucket: 'list', MaxKeys: 0 }))]) {
      expect(r.Contents ?? []).toEqual([]);
      expect(r.IsTruncated).toBe(false);
    }
    const fromStart = await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: 3 }));
    const empty = await t.s3.send(new ListObjectsV2Command({ Bucket: 'list', MaxKeys: 3, ContinuationToken: '' }));
    expect(empty.Contents!.map((c) => c.Key)).toEqual(fromStart.Contents!.map((c) => c.Key));
  });
});

describe('ListObjects (v1)', () => {
  it('pages with Marker / NextMarker and matches the model', async () => {
    for (const delimiter of ['', '/']) {
      const items: Item[] = [];
      let marker: string | undefined;
      for (;;) {
        const r = await t.s3.send(new ListObjectsCommand({ Bucket: 'list', Delimiter: delimiter || undefined, MaxKeys: 3, Marker: marker }));
        const page: Item[] = [...(r.Contents ?? []).map((c) => ({ key: c.Key! })), ...(r.CommonPrefixes ?? []).map((p) => ({ prefix: p.Prefix! }))];
        items.push(...page.sort((x, y) => compareKeys(itemName(x), itemName(y))));
        // v1 lists always carry the owner.
        for (const c of r.Contents ?? []) expect(c.Owner?.ID).toBeTruthy();
        if (!r.IsTruncated) break;
        marker = r.NextMarker;
        expect(marker).toBeTruthy();
      }
      expect(items).toEqual(model(KEYS, '', delimiter, ''));
    }
  });
});

describe('10,000 keys', () => {
  it('are listed in pages of 1,000 in order, none repeated or lost, each directory read and sorted once', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'many' }));
    const keys: string[] = [];
    // Written through the SDK (faster to make than 10,000 PUTs); S3 sees them as objects. Most
    // in one flat directory (one big sort), the rest spread over ten.
    await t.vol.mkdir('/many/flat');
    const write = async (list: string[]) => {
      for (let i = 0; i < list.length; i += 500) await Promise.all(list.slice(i, i + 500).map((k) => t.vol.writeFile(`/many/${k}`, '')));
    };
    const flat = Array.from({ length: 9000 }, (_, i) => `flat/k${String((i * 7919) % 9000).padStart(5, '0')}`);
    await write(flat);
    keys.push(...flat);
    for (let d = 0; d < 10; d++) {
      await t.vol.mkdir(`/many/d${d}`);
      const list = Array.from({ length: 100 }, (_, i) => `d${d}/k${i}`);
      await write(list);
      keys.push(...list);
    }
    // Paging reads and sorts each directory once, not once per page: count the reads of the
    // 9,000-entry directory (an instrument on the real volume, not a stand-in for it).
    const { vfs } = t.gw.core.gv.user;
    const flatIno = (await t.vol.stat('/many/flat')).ino;
    const readdir = vfs.readdir.bind(vfs);
    let flatReads = 0;
    vfs.readdir = async (...args: Parameters<typeof vfs.readdir>) => {
      if (args[1] === flatIno) flatReads++;
      return readdir(...args);
    };
    const started = performance.now();
    let listing: Awaited<ReturnType<typeof listAllV2>>;
    try {
      listing = await listAllV2('many', '', '', 1000);
    } finally {
      vfs.readdir = readdir;
    }
    const { items, pages } = listing;
    const ms = performance.now() - started;
    expect(pages).toBe(10);
    // 9,000 entries come in pages of 4,096: three reads, for the first of the ten pages only.
    expect(flatReads).toBe(3);
    expect(items.map((i) => i.key)).toEqual([...keys].sort(compareKeys));
    // v1 through the same directories, with a delimiter and a prefix.
    const top = await t.s3.send(new ListObjectsCommand({ Bucket: 'many', Delimiter: '/' }));
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).toEqual([...Array.from({ length: 10 }, (_, d) => `d${d}/`), 'flat/']);
    const one = await listAllV2('many', 'flat/k01', '', 250);
    expect(one.items.length).toBe(1000);
    console.log(`listed 10,000 keys in ${pages} pages: ${ms.toFixed(0)} ms`);
  });
});

describe('ListObjectVersions', () => {
  it('lists every object as its one version ("null", the latest), paged by key-marker like ListObjects', async () => {
    const seen: string[] = [];
    const prefixes: string[] = [];
    let keyMarker: string | undefined;
    for (let page = 0; page < 50; page++) {
      const r = await t.s3.send(new ListObjectVersionsCommand({ Bucket: 'list', MaxKeys: 3, KeyMarker: keyMarker, Delimiter: '/', Prefix: 'a' }));
      for (const v of r.Versions ?? []) {
        expect([v.VersionId, v.IsLatest]).toEqual(['null', true]);
        seen.push(v.Key!);
      }
      prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      expect(r.DeleteMarkers ?? []).toEqual([]);
      if (!r.IsTruncated) break;
      expect(r.NextVersionIdMarker).toBe('null');
      keyMarker = r.NextKeyMarker;
    }
    const expected = model(KEYS, 'a', '/', '');
    expect(seen).toEqual(expected.filter((i) => i.key !== undefined).map(itemName));
    expect(prefixes).toEqual(expected.filter((i) => i.prefix !== undefined).map(itemName));
  });
});
