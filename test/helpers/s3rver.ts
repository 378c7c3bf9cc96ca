// A real S3 server (the npm package s3rver) on loopback for the tests: its HTTP layer, SigV4
// authentication, routing, XML and error responses are used as they are. Its filesystem store
// departs from S3 in ways that would make a correct client fail, so four of its methods are
// replaced here (the backend under test is not told about any of this):
//  - listObjects: s3rver lists in directory-walk order rather than UTF-8 byte order, compares
//    start-after in JS string order, does not count common prefixes towards max-keys (so a page
//    can silently drop them), and crashes building a continuation token when a truncated page
//    ends in a common prefix. The replacement follows ListObjectsV2: byte order, entries
//    (objects + prefixes) counted together. A common prefix equal to start-after is listed
//    again, the less convenient reading of S3's rules; the backend must cope with both.
//  - putObject: s3rver truncates and rewrites the object file in place, answers before the bytes
//    are flushed, and keeps a partial object when the client disconnects mid-upload. S3 makes a
//    PUT atomic and stores nothing from an incomplete one; the replacement writes a temp file,
//    checks the length against Content-Length, and renames it over the object.
//  - getObject: s3rver treats "bytes=0-0" as "the whole object" and answers a range on an empty
//    object with Content-Length 1 and no body. The replacement reads from one open file (so a
//    concurrent overwrite cannot mix sizes) and answers an unsatisfiable range with 416.
//  - deleteObject: s3rver's removal of emptied directories races with puts into them and fails
//    with a 500; the replacement ignores a directory that is no longer empty or already gone.
// s3rver also encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node
// >= 17) no longer offers, so every truncated page would be a 500; see allowSingleDes.
// And s3rver checks that a SigV4 access key exists but not the signature: a wrong secret key is
// accepted, so tests of bad credentials use an unknown access key.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);

/** The one key pair s3rver accepts. */
export const S3RVER_ACCESS_KEY = 'S3RVER';
export const S3RVER_SECRET_KEY = 'S3RVER';

const OBJECT_SUFFIX = '._S3rver_object';
const TEMP_MARK = '._S3rver_tmp-';

interface S3ObjectLike {
  key: string;
  content: Readable | Buffer | null;
  metadata: Record<string, string>;
  range?: { start: number; end: number };
}
type S3ObjectCtor = new (bucket: string, key: string, content: unknown, metadata: Record<string, unknown>) => S3ObjectLike;
type S3ErrorCtor = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putBucket(bucket: string): Promise<unknown>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  listObjects: (bucket: string, options: ListOptions) => Promise<unknown>;
  getObject: (bucket: string, key: string, options?: { start?: number; end?: number }) => Promise<S3ObjectLike | null>;
  putObject: (object: S3ObjectLike & { bucket: string }) => Promise<{ size: number; md5: string }>;
  deleteObject: (bucket: string, key: string) => Promise<void>;
}

interface S3rverInstance {
  store: FilesystemStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

interface ListOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

export interface RunningS3rver {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  /** Where s3rver keeps its buckets. */
  directory: string;
  /** The storage URL of `bucket` (and `prefix`) on this server, without credentials. */
  url(bucket: string, prefix?: string): string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

function isAbsent(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Every object key in the bucket directory that could start with `prefix`. */
async function objectKeys(dir: string, rel: string, prefix: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isAbsent(err)) return;
    throw err;
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      if (e.name.startsWith('._S3rver_')) continue; // multipart uploads
      const sub = `${rel}${e.name}/`;
      if (sub.startsWith(prefix) || prefix.startsWith(sub)) await objectKeys(join(dir, e.name), sub, prefix, out);
    } else if (e.name.endsWith(OBJECT_SUFFIX) && !e.name.includes(TEMP_MARK)) {
      const key = rel + e.name.slice(0, -OBJECT_SUFFIX.length);
      if (key.startsWith(prefix)) out.push(key);
    }
  }
}

async function readMetadata(path: string): Promise<Record<string, string>> {
  const [stored, md5] = await Promise.all([
    readFile(path.replace(/object$/, 'metadata.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, string>, () => ({})),
    readFile(`${path}.md5`, 'utf8').catch(() => ''),
  ]);
  return { ...stored, etag: JSON.stringify(md5) };
}

/** Triple DES with the key repeated three times computes single DES, and OpenSSL 3 still has it. */
function allowSingleDes(): void {
  const crypto = require('node:crypto') as typeof import('node:crypto') & { strataSingleDes?: boolean };
  if (crypto.strataSingleDes) return;
  crypto.strataSingleDes = true;
  const widen = (algorithm: string, key: unknown): [string, Buffer] | undefined =>
    algorithm.toLowerCase() === 'des' && Buffer.isBuffer(key) && key.length === 8 ? ['des-ede3-cbc', Buffer.concat([key, key, key])] : undefined;
  const cipher = crypto.createCipheriv;
  const decipher = crypto.createDecipheriv;
  crypto.createCipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: unknown) => {
    const w = widen(algorithm, key);
    return w ? cipher(w[0], w[1], iv) : cipher(algorithm, key, iv, options as never);
  }) as typeof crypto.createCipheriv;
  crypto.createDecipheriv = ((algorithm: string, key: Buffer, iv: Buffer, options?: unknown) => {
    const w = widen(algorithm, key);
    return w ? decipher(w[0], w[1], iv) : decipher(algorithm, key, iv, options as never);
  }) as typeof crypto.createDecipheriv;
}

function patchStore(store: FilesystemStore): void {
  const S3Object = require('s3rver/lib/models/object') as S3ObjectCtor;
  const S3Error = require('s3rver/lib/models/error') as S3ErrorCtor;

  store.listObjects = async (bucket, options) => {
    const { delimiter = '', startAfter = '', prefix = '' } = options;
    const maxKeys = Math.min(options.maxKeys ?? 1000, 1000);
    const keys: string[] = [];
    await objectKeys(store.getBucketPath(bucket), '', prefix, keys);
    keys.sort(byteOrder);
    const entries: { name: string; isPrefix: boolean }[] = [];
    let isTruncated = false;
    for (const key of keys) {
      if (startAfter !== '' && byteOrder(key, startAfter) <= 0) continue;
      let entry = { name: key, isPrefix: false };
      if (delimiter !== '') {
        const at = key.indexOf(delimiter, prefix.length);
        if (at >= 0) entry = { name: key.slice(0, at + delimiter.length), isPrefix: true };
      }
      const last = entries[entries.length - 1];
      if (entry.isPrefix && last?.isPrefix && last.name === entry.name) continue;
      if (entries.length === maxKeys) {
        isTruncated = true;
        break;
      }
      entries.push(entry);
    }
    const found = await Promise.all(
      entries.filter((e) => !e.isPrefix).map(async (e) => {
        const path = store.getResourcePath(bucket, e.name, 'object');
        try {
          const fh = await open(path, 'r');
          try {
            const st = await fh.stat();
            return new S3Object(bucket, e.name, null, { ...(await readMetadata(path)), 'last-modified': st.mtime.toUTCString(), 'content-length': st.size });
          } finally {
            await fh.close();
          }
        } catch (err) {
          if (isAbsent(err)) return undefined; // deleted while listing
          throw err;
        }
      }),
    );
    const objects = found.filter((o): o is S3ObjectLike => o !== undefined);
    // s3rver's controller builds a continuation token from objects[objects.length - 1].key
    // whenever the page is truncated; give it the last entry when the page holds no object.
    if (isTruncated && objects.length === 0) Object.defineProperty(objects, -1, { value: { key: entries[entries.length - 1].name } });
    return { objects, commonPrefixes: entries.filter((e) => e.isPrefix).map((e) => e.name), isTruncated };
  };

  store.getObject = async (bucket, key, options) => {
    const path = store.getResourcePath(bucket, key, 'object');
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return null;
    }
    const metadata = { ...(await readMetadata(path)), 'last-modified': st.mtime.toUTCString(), 'content-length': st.size };
    if (options?.start === undefined) return new S3Object(bucket, key, fh.createReadStream(), metadata);
    const start = options.start;
    const end = Math.min(options.end ?? st.size - 1, st.size - 1);
    if (!(start >= 0 && start <= end)) {
      await fh.close();
      // No content with a range set: the controller answers 416 InvalidRange.
      const object = new S3Object(bucket, key, null, metadata);
      object.range = { start, end };
      return object;
    }
    const object = new S3Object(bucket, key, fh.createReadStream({ start, end }), metadata);
    object.range = { start, end };
    return object;
  };

  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    const dir = dirname(path);
    const temp = join(dir, `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? [object.content] : (object.content as Readable);
    try {
      // A concurrent delete may remove the directory between mkdir and open: try again.
      let fh;
      for (let attempt = 0; ; attempt++) {
        await mkdir(dir, { recursive: true });
        try {
          fh = await open(temp, 'wx');
          break;
        } catch (err) {
          if (!isAbsent(err) || attempt > 5) throw err;
        }
      }
      await pipeline(source, count, fh.createWriteStream());
      const expected = Number(object.metadata['content-length']);
      if (Number.isFinite(expected) && size !== expected) {
        throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
      }
      const digest = md5.digest('hex');
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(temp, path);
      return { size, md5: digest };
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
  };

  store.deleteObject = async (bucket, key) => {
    const path = store.getResourcePath(bucket, key, 'object');
    for (const f of [path, `${path}.md5`, path.replace(/object$/, 'metadata.json')]) {
      await unlink(f).catch((err: unknown) => {
        if (!isAbsent(err)) throw err;
      });
    }
    const root = store.getBucketPath(bucket);
    for (let d = dirname(path); d.startsWith(`${root}/`); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (a neighbour was just written) or already gone
      }
    }
  };
}

/** Start s3rver on 127.0.0.1 (a free port) over a fresh directory, with `buckets` created. */
export async function startS3rver(options: { buckets?: string[] } = {}): Promise<RunningS3rver> {
  allowSingleDes();
  const S3rver = require('s3rver') as S3rverCtor;
  const directory = await mkdtemp(join(tmpdir(), 'strata-s3rver-'));
  const srv = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: (options.buckets ?? []).map((name) => ({ name })) });
  patchStore(srv.store);
  const address = await srv.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    directory,
    url: (bucket, prefix) => `${endpoint}/${bucket}${prefix ? `/${prefix}` : ''}`,
    createBucket: async (name) => {
      await srv.store.putBucket(name);
    },
    stop: async () => {
      await srv.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
