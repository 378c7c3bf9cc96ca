// The gateway's pure parts: SigV4 against AWS's published examples, the aws-chunked decoder,
// the XML parser, key and bucket rules, checksums, ranges and conditions.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeAwsChunked } from '../../src/gateway/chunked.js';
import { newDigest } from '../../src/gateway/checksums.js';
import { checkRead, parseRange } from '../../src/gateway/conditions.js';
import { S3Error } from '../../src/gateway/errors.js';
import { compareKeys } from '../../src/gateway/listing.js';
import { inlineMd5, offloadedMd5 } from '../../src/gateway/md5.js';
import { bucketNameProblem, keyPath } from '../../src/gateway/names.js';
import {
  canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, chunkStringToSign, parseAmzDate, sha256Hex, signatureOf, signingKey,
  stringToSign, trailerStringToSign,
} from '../../src/gateway/sigv4.js';
import { parseXml, xmlDocument, el } from '../../src/gateway/xml.js';
import { builtModule, nodeAlone } from '../helpers/alone.js';

// AWS's example credentials and request time, from the S3 SigV4 documentation.
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DATE = '20130524T000000Z';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const KEY = signingKey(SECRET, '20130524', 'us-east-1', 's3');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof S3Error ? err.code : String(err);
  }
}

async function decodeAll(body: Buffer, signing: Parameters<typeof decodeAwsChunked>[1], trailer: boolean, split = 7) {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += split) pieces.push(body.subarray(i, i + split));
  const trailers = new Map<string, string>();
  const out: Buffer[] = [];
  for await (const c of decodeAwsChunked((async function* () { yield* pieces; })(), signing, trailer, trailers)) out.push(Buffer.from(c));
  return { data: Buffer.concat(out), trailers };
}

/** In a process of its own, whose worker threads inherit --input-type=module: hash 5 MiB of 7s on
 * the MD5 worker as `m`, then run `then`. */
function md5Alone(then: string): Promise<{ stdout: string; stderr: string }> {
  return nodeAlone(`
    const { offloadedMd5 } = await import(${JSON.stringify(builtModule('src', 'gateway', 'md5.js'))});
    const m = offloadedMd5();
    m.update([Buffer.alloc(5 << 20, 7)]);
    ${then}
  `);
}

describe('SigV4 (AWS documentation examples)', () => {
  it('GET Object with a Range header', () => {
    const headers = canonicalHeaders(['Host', 'examplebucket.s3.amazonaws.com', 'Range', 'bytes=0-9', 'x-amz-content-sha256', sha256Hex(''), 'x-amz-date', DATE],
      ['host', 'range', 'x-amz-content-sha256', 'x-amz-date']);
    const canonical = canonicalRequest('GET', canonicalUri('/test.txt'), '', headers!, 'host;range;x-amz-content-sha256;x-amz-date', sha256Hex(''));
    expect(signatureOf(KEY, stringToSign(DATE, SCOPE, canonical))).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('GET Bucket lifecycle and list objects (query strings)', () => {
    const hdrs = (q: string) => canonicalRequest('GET', '/', canonicalQuery(q === '' ? [] : q.split('&').map((p) => ({ name: p.split('=')[0], value: p.split('=')[1] ?? '' }))),
      canonicalHeaders(['host', 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256', sha256Hex(''), 'x-amz-date', DATE], ['host', 'x-amz-content-sha256', 'x-amz-date'])!,
      'host;x-amz-content-sha256;x-amz-date', sha256Hex(''));
    expect(signatureOf(KEY, stringToSign(DATE, SCOPE, hdrs('lifecycle')))).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    expect(signatureOf(KEY, stringToSign(DATE, SCOPE, hdrs('max-keys=2&prefix=J')))).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('a presigned URL', () => {
    const params = [
      { name: 'X-Amz-Algorithm', value: 'AWS4-HMAC-SHA256' }, { name: 'X-Amz-Credential', value: `AKIAIOSFODNN7EXAMPLE/${SCOPE}` },
      { name: 'X-Amz-Date', value: DATE }, { name: 'X-Amz-Expires', value: '86400' }, { name: 'X-Amz-SignedHeaders', value: 'host' },
    ];
    const canonical = canonicalRequest('GET', '/test.txt', canonicalQuery(params), 'host:examplebucket.s3.amazonaws.com\n', 'host', 'UNSIGNED-PAYLOAD');
    expect(signatureOf(KEY, stringToSign(DATE, SCOPE, canonical))).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  });

  it('chunk and trailer signatures of a streaming upload', () => {
    const seed = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';
    const c1 = signatureOf(KEY, chunkStringToSign(DATE, SCOPE, seed, sha256Hex(Buffer.alloc(65536, 'a'))));
    expect(c1).toBe('b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2');
    const c2 = signatureOf(KEY, chunkStringToSign(DATE, SCOPE, c1, sha256Hex(Buffer.alloc(1024, 'a'))));
    const c3 = signatureOf(KEY, chunkStringToSign(DATE, SCOPE, c2, sha256Hex('')));
    expect(c3).toBe('2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992');
    expect(signatureOf(KEY, trailerStringToSign(DATE, SCOPE, c3, sha256Hex('x-amz-checksum-crc32c:sOO8/Q==\n')))).toBe('d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435');
  });

  it('encodes paths and queries once, the way SigV4 specifies', () => {
    expect(canonicalUri('/bucket/a b/ü+*~')).toBe('/bucket/a%20b/%C3%BC%2B%2A~');
    expect(canonicalQuery([{ name: 'b', value: '2' }, { name: 'a', value: 'x y' }, { name: 'a', value: '1' }, { name: 'uploads', value: '' }])).toBe('a=1&a=x%20y&b=2&uploads=');
    expect(canonicalHeaders(['X-Amz-Meta-A', '  two   spaces ', 'x-amz-meta-a', 'again'], ['x-amz-meta-a'])).toBe('x-amz-meta-a:two spaces,again\n');
    expect(canonicalHeaders([], ['host'])).toBeNull();
    expect(parseAmzDate('20130524T000000Z')).toBe(Date.UTC(2013, 4, 24));
    expect(parseAmzDate('20130231T000000Z')).toBeNaN();
    expect(parseAmzDate('2013-05-24')).toBeNaN();
  });
});

describe('aws-chunked decoding', () => {
  const data = [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'a')];
  const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const signing = { key: KEY, amzDate: DATE, scope: SCOPE, seed };
  const sigs = ['ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'];
  const body = Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`), data[0], Buffer.from('\r\n'),
    Buffer.from(`400;chunk-signature=${sigs[1]}\r\n`), data[1], Buffer.from('\r\n'),
    Buffer.from(`0;chunk-signature=${sigs[2]}\r\n\r\n`),
  ]);

  it('decodes AWS\'s example signed stream, however it is split', async () => {
    for (const split of [1, 7, 4096, body.length]) {
      const { data: got } = await decodeAll(body, signing, false, split);
      expect(got.equals(Buffer.concat(data)), String(split)).toBe(true);
    }
  });

  it('refuses a changed byte, a changed signature, a cut stream, garbage after the end', async () => {
    const flipped = Buffer.from(body);
    flipped[200] ^= 1;
    await expect(decodeAll(flipped, signing, false)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    await expect(decodeAll(body, { ...signing, seed: '0'.repeat(64) }, false)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' });
    await expect(decodeAll(body.subarray(0, body.length - 10), signing, false)).rejects.toMatchObject({ code: 'IncompleteBody' });
    await expect(decodeAll(Buffer.concat([body, Buffer.from('x')]), signing, false)).rejects.toMatchObject({ code: 'IncompleteBody' });
    await expect(decodeAll(Buffer.from('zz\r\nabc'), null, false)).rejects.toMatchObject({ code: 'IncompleteBody' });
    // Unsigned streams must not carry... nothing: a signed stream must carry signatures.
    await expect(decodeAll(Buffer.from('3\r\nabc\r\n0\r\n\r\n'), signing, false)).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('reads unsigned streams with trailers, with or without the zero chunk\'s CRLF', async () => {
    for (const tail of ['0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', '0\r\n\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n']) {
      const { data: got, trailers } = await decodeAll(Buffer.from(`3\r\nabc\r\n${tail}`), null, true, 3);
      expect(got.toString()).toBe('abc');
      expect(trailers.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    }
  });
});

describe('XML', () => {
  it('parses what S3 clients send and refuses what is not well-formed', () => {
    const doc = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a &amp; b &lt;c&gt; &#x263A;</Key></Object><Quiet>true</Quiet><X><![CDATA[<raw>]]></X></Delete>');
    expect(doc.name).toBe('Delete');
    expect(doc.children[0].children[0].text).toBe('a & b <c> \u263a');
    expect(doc.children[2].text).toBe('<raw>');
    for (const bad of ['', 'text', '<a>', '<a></b>', '<a><b></a></b>', '<a>&bogus;</a>', '<a>x & y</a>', '<a/><b/>', '<!DOCTYPE a><a/>', '<a x=1/>', '<a>x</a>trailing', '<a><!-- open</a>']) {
      expect(codeOf(() => parseXml(bad)), bad).toBe('MalformedXML');
    }
  });

  it('writes documents that parse back, escaping what must be', () => {
    const text = xmlDocument(el('R', el('K', 'a<b>&"\'\u0001'), el('Empty')));
    expect(text).toContain('<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">');
    expect(parseXml(text).children[0].text).toBe('a<b>&"\'\u0001');
  });
});

describe('names', () => {
  it('bucket names follow S3\'s rules', () => {
    for (const ok of ['abc', 'my-bucket.2', 'a'.repeat(63)]) expect(bucketNameProblem(ok), ok).toBeNull();
    for (const bad of ['ab', 'a'.repeat(64), 'Abc', 'a_b', '-ab', 'ab-', 'a..b', '10.0.0.1', 'xn--abc', 'abc-s3alias', '.strata-gateway', '.trash']) expect(bucketNameProblem(bad), bad).not.toBeNull();
  });

  it('keys that cannot be paths are refused, with the reason', () => {
    expect(keyPath('a/b/c')).toEqual({ segments: ['a', 'b', 'c'], directory: false });
    expect(keyPath('a/b/')).toEqual({ segments: ['a', 'b'], directory: true });
    for (const bad of ['', '/', '..', '.', 'a/..', 'a/./b', 'a//b', '/a', 'a\u0000b', `${'x'.repeat(256)}/y`]) expect(codeOf(() => keyPath(bad)), JSON.stringify(bad)).toBe('InvalidObjectName');
    expect(codeOf(() => keyPath('k'.repeat(1025)))).toBe('KeyTooLongError');
    expect(codeOf(() => keyPath(`${'é'.repeat(400)}/${'é'.repeat(113)}`))).toBe('KeyTooLongError');
  });

  it('keys sort by UTF-8 bytes', () => {
    const keys = ['\uffef', '\u{1f600}', 'a', 'a/', 'a-', 'a0', '\u00e9'];
    const bytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(bytes);
  });
});

describe('checksums, ranges, conditions', () => {
  it('checksums match reference values', () => {
    const d = (alg: Parameters<typeof newDigest>[0], s: string) => {
      const x = newDigest(alg);
      for (const c of s) x.update(Buffer.from(c));
      return x.digest().toString('hex');
    };
    expect(d('crc32', '123456789')).toBe('cbf43926');
    expect(d('crc32c', '123456789')).toBe('e3069283');
    expect(d('crc64nvme', '123456789')).toBe('ae8b14860a799888');
    expect(d('sha256', 'abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  it('MD5 on the worker thread equals MD5 in line, for moved and copied buffers', async () => {
    const parts = [randomBytes(3 * 1024 * 1024), randomBytes(100), randomBytes(70_000)];
    const want = createHash('md5').update(Buffer.concat(parts)).digest('hex');
    const a = offloadedMd5();
    const b = offloadedMd5();
    const c = inlineMd5();
    const shared = Buffer.concat(parts);
    let at = 0;
    for (const p of parts) {
      a.update([Buffer.from(p)]); // owns its memory: moved to the worker
      b.update([shared.subarray(at, at + p.length)]); // a view: copied
      c.update([p]);
      at += p.length;
    }
    // One batch of several buffers, moved and copied mixed, one of them twice.
    const d = offloadedMd5();
    const twice = Buffer.from(parts[1]);
    const batchWant = createHash('md5').update(Buffer.concat([parts[0], parts[1], parts[1], parts[2]])).digest('hex');
    d.update([Buffer.from(parts[0]), twice, twice, shared.subarray(shared.length - parts[2].length)]);
    const abandoned = offloadedMd5();
    abandoned.update([Buffer.from('never finished')]);
    abandoned.abandon();
    expect((await Promise.all([a.digest(), b.digest(), c.digest()])).map((x) => x.toString('hex'))).toEqual([want, want, want]);
    expect((await d.digest()).toString('hex')).toBe(batchWant);
  });

  it('MD5 on the worker thread works in a process that runs eval\'d code as ES modules (the flag is inherited by workers)', async () => {
    const { stdout } = await md5Alone('console.log((await m.digest()).toString("hex"));');
    expect(stdout.trim()).toBe(createHash('md5').update(Buffer.alloc(5 << 20, 7)).digest('hex'));
  });

  it('a process whose offloaded MD5 was abandoned (a failed upload) still exits', async () => {
    const { stdout } = await md5Alone('m.abandon(); console.log("done");');
    expect(stdout.trim()).toBe('done');
  });

  it('ranges', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=2-4', 10)).toEqual({ start: 2, end: 5 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 10 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 10 });
    expect(parseRange('bytes=8-', 10)).toEqual({ start: 8, end: 10 });
    expect(parseRange('bytes=4-2', 10)).toBeNull();
    expect(parseRange('items=1-2', 10)).toBeNull();
    expect(codeOf(() => parseRange('bytes=10-', 10))).toBe('InvalidRange');
    expect(codeOf(() => parseRange('bytes=0-', 0))).toBe('InvalidRange');
  });

  it('conditions take RFC 7232 precedence', () => {
    const t = Date.UTC(2020, 0, 1, 12, 0, 0, 500);
    const at = (ms: number) => new Date(ms).toUTCString();
    expect(codeOf(() => checkRead({ ifMatch: '"e"' }, 'e', t, {}))).toBe('ok');
    expect(codeOf(() => checkRead({ ifMatch: '"x", "e"' }, 'e', t, {}))).toBe('ok');
    expect(codeOf(() => checkRead({ ifMatch: '*' }, 'e', t, {}))).toBe('ok');
    expect(codeOf(() => checkRead({ ifMatch: '"x"' }, 'e', t, {}))).toBe('PreconditionFailed');
    expect(codeOf(() => checkRead({ ifNoneMatch: 'W/"e"' }, 'e', t, {}))).toBe('NotModified');
    // Whole seconds: modified at 12:00:00.500 is "not modified since 12:00:00".
    expect(codeOf(() => checkRead({ ifModifiedSince: at(t - 500) }, 'e', t, {}))).toBe('NotModified');
    expect(codeOf(() => checkRead({ ifModifiedSince: at(t - 1500) }, 'e', t, {}))).toBe('ok');
    expect(codeOf(() => checkRead({ ifUnmodifiedSince: at(t - 1500) }, 'e', t, {}))).toBe('PreconditionFailed');
    expect(codeOf(() => checkRead({ ifNoneMatch: '"x"', ifModifiedSince: at(t + 5000) }, 'e', t, {}))).toBe('ok');
    expect(codeOf(() => checkRead({ ifModifiedSince: 'not a date' }, 'e', t, {}))).toBe('ok');
  });
});
