import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UrlError, parseMetaUrl, parseStorageUrl, redactUrl } from '../../src/config/urls.js';

const cwd = '/work/here';

function sqlitePath(input: string, options?: { cwd: string }): string {
  const parsed = parseMetaUrl(input, options);
  if (parsed.kind !== 'sqlite') throw new Error(`${input} parsed as ${parsed.kind}`);
  return parsed.path;
}

function filePath(input: string, options?: { cwd: string }): string {
  const parsed = parseStorageUrl(input, options);
  if (parsed.kind !== 'file') throw new Error(`${input} parsed as ${parsed.kind}`);
  return parsed.path;
}

/** The UrlError `fn` throws (failing when it throws nothing or something else). */
function urlError(fn: () => unknown): UrlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UrlError);
    return err as UrlError;
  }
  throw new Error('expected a UrlError');
}

describe('parseMetaUrl: SQLite', () => {
  it('resolves relative paths against the working directory and keeps absolute ones', () => {
    expect(parseMetaUrl('sqlite3://./meta.db', { cwd })).toEqual({ kind: 'sqlite', path: '/work/here/meta.db', url: 'sqlite3://./meta.db' });
    expect(sqlitePath('sqlite3://relative/dir/meta.db', { cwd })).toBe('/work/here/relative/dir/meta.db');
    expect(sqlitePath('sqlite3://../up/meta.db', { cwd })).toBe('/work/up/meta.db');
    expect(sqlitePath('sqlite3:///abs/path.db', { cwd })).toBe('/abs/path.db');
    expect(sqlitePath('SQLITE3:///abs/path.db', { cwd })).toBe('/abs/path.db');
    expect(sqlitePath('sqlite3://~/strata/meta.db', { cwd })).toBe(join(homedir(), 'strata/meta.db'));
    expect(sqlitePath('sqlite3://my%20dir/meta.db', { cwd })).toBe('/work/here/my dir/meta.db');
    expect(sqlitePath('sqlite3://:memory:')).toBe(':memory:');
    expect(sqlitePath('sqlite3://meta.db')).toBe(join(process.cwd(), 'meta.db'));
  });

  it('explains what is wrong and shows a URL that works', () => {
    const noSlashes = urlError(() => parseMetaUrl('sqlite3:meta.db'));
    expect(noSlashes.message).toBe(
      'invalid metadata URL "sqlite3:meta.db": "sqlite3:" must be followed by "//". Did you mean sqlite3://meta.db? ' +
        'Use e.g. sqlite3://./meta.db (a file relative to the current directory) or sqlite3:///var/lib/strata/meta.db',
    );
    expect(urlError(() => parseMetaUrl('sqlite3:/abs/meta.db')).message).toContain('Did you mean sqlite3:///abs/meta.db?');
    expect(urlError(() => parseMetaUrl('sqlite3://')).problem).toBe('the path is missing');
    expect(urlError(() => parseMetaUrl('sqlite3://data/')).message).toContain('sqlite3://data/meta.db');
    expect(urlError(() => parseMetaUrl('sqlite:///x.db')).message).toContain('Did you mean sqlite3:///x.db?');
    expect(urlError(() => parseMetaUrl('./meta.db')).message).toContain('Write sqlite3://./meta.db');
    expect(urlError(() => parseMetaUrl('sqlite3://meta.db?cache=shared')).problem).toContain('no "?" options');
    expect(urlError(() => parseMetaUrl('sqlite3://50%.db')).message).toContain('%25');
    expect(urlError(() => parseMetaUrl('sqlite3://a%00b.db')).problem).toContain('NUL');
  });
});

describe('parseMetaUrl: malformed input of any kind', () => {
  it('rejects empty, blank, padded, NUL-carrying and scheme-less input', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      ['   ', /it is empty/],
      [' sqlite3://./meta.db', /spaces around it/],
      ['sqlite3://a\0b.db', /NUL byte/],
      ['meta', /no scheme/],
      ['ftp://host/db', /unknown scheme "ftp" \(supported: sqlite3, postgres, mysql, redis\)/],
      ['file:///var/lib/strata', /is where data is stored, not metadata/],
      ['s3://bucket', /is where data is stored/],
      ['C:\\meta.db', /no scheme/],
    ];
    for (const [input, problem] of cases) {
      const err = urlError(() => parseMetaUrl(input));
      expect(err.message, JSON.stringify(input)).toMatch(problem);
      expect(err.message).toContain(`invalid metadata URL ${JSON.stringify(input)}`);
      expect(err.message).toContain('sqlite3://./meta.db');
      expect(err.name).toBe('UrlError');
      expect(err.code).toBe('ERR_INVALID_URL');
    }
    expect(() => parseMetaUrl(undefined as unknown as string)).toThrow(TypeError);
    expect(() => parseMetaUrl(42 as unknown as string)).toThrow('metadata URL must be a string, got number');
  });
});

describe('parseMetaUrl: servers (parsed now, supported later)', () => {
  it('parses postgres URLs with credentials, port and options', () => {
    expect(parseMetaUrl('postgres://strata:s%40cret@db.example.com:6543/vol1?sslmode=disable')).toEqual({
      kind: 'postgres',
      host: 'db.example.com',
      port: 6543,
      user: 'strata',
      password: 's@cret',
      database: 'vol1',
      params: { sslmode: 'disable' },
      url: 'postgres://strata:****@db.example.com:6543/vol1?sslmode=disable',
    });
    expect(parseMetaUrl('postgresql://[::1]/db')).toMatchObject({ kind: 'postgres', host: '[::1]', port: 5432, database: 'db' });
    expect(parseMetaUrl('postgres://u@h/db')).toMatchObject({ user: 'u', port: 5432 });
    expect(parseMetaUrl('postgres://u@h/db')).not.toHaveProperty('password');
  });

  it('parses mysql (plain and the Go driver form) and redis', () => {
    expect(parseMetaUrl('mysql://root:pw@(127.0.0.1:3307)/strata')).toMatchObject({ kind: 'mysql', host: '127.0.0.1', port: 3307, user: 'root', password: 'pw', database: 'strata' });
    expect(parseMetaUrl('mysql://root@localhost/strata')).toMatchObject({ kind: 'mysql', port: 3306 });
    expect(parseMetaUrl('redis://:pw@cache:6380/2')).toMatchObject({ kind: 'redis', host: 'cache', port: 6380, password: 'pw', db: 2, tls: false });
    expect(parseMetaUrl('rediss://cache')).toMatchObject({ kind: 'redis', port: 6379, db: 0, tls: true });
  });

  it('names the part that is wrong and never echoes a password', () => {
    const cases: [string, RegExp][] = [
      ['postgres:///db', /the host name is missing/],
      ['postgres://h:99999/db', /the port "99999" must be a number from 1 to 65535/],
      ['postgres://h:abc/db', /the port "abc"/],
      ['postgres://h:0/db', /the port "0"/],
      ['postgres://h', /the database name is missing/],
      ['postgres://h/a/b', /must not contain "\/"/],
      ['postgres://[::1/db', /closing "\]"/],
      ['postgres://bad host/db', /not a valid host name/],
      ['redis://h/x', /the database "x" must be a number/],
      ['postgres://u:pa#ss@h/db', /"#" fragment/],
    ];
    for (const [input, problem] of cases) {
      const err = urlError(() => parseMetaUrl(input));
      expect(err.message, input).toMatch(problem);
    }
    const secret = urlError(() => parseMetaUrl('postgres://admin:hunter2@h:99999/db'));
    expect(secret.message).not.toContain('hunter2');
    expect(secret.input).toBe('postgres://admin:****@h:99999/db');
  });
});

describe('parseStorageUrl', () => {
  it('parses local directories', () => {
    expect(parseStorageUrl('file:///var/lib/strata/data', { cwd })).toEqual({ kind: 'file', path: '/var/lib/strata/data', url: 'file:///var/lib/strata/data' });
    expect(filePath('file:///var/lib/strata/data/', { cwd })).toBe('/var/lib/strata/data');
    expect(filePath('file://./data', { cwd })).toBe('/work/here/data');
    expect(filePath('file://localhost/srv/data', { cwd })).toBe('/srv/data');
    // What FileObjectStore.describe() prints parses back to the same directory.
    const odd = '/tmp/a dir/with%percent/ü';
    expect(filePath(pathToFileURL(odd).href)).toBe(odd);
  });

  it('parses s3:// and S3-compatible endpoints', () => {
    expect(parseStorageUrl('s3://my-bucket/strata/vols')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'strata/vols', url: 's3://my-bucket/strata/vols' });
    expect(parseStorageUrl('s3://my-bucket')).toMatchObject({ bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUrl('s3://my-bucket/p/?region=eu-west-1')).toMatchObject({ prefix: 'p', region: 'eu-west-1' });
    expect(parseStorageUrl('https://minio.local:9000/data/prefix/x')).toEqual({
      kind: 's3',
      endpoint: 'https://minio.local:9000',
      bucket: 'data',
      prefix: 'prefix/x',
      url: 'https://minio.local:9000/data/prefix/x',
    });
    expect(parseStorageUrl('http://127.0.0.1/bkt')).toMatchObject({ endpoint: 'http://127.0.0.1', bucket: 'bkt', prefix: '' });
    expect(parseStorageUrl('https://AK:s%2Fcret@s3.example.com/bkt')).toMatchObject({ accessKey: 'AK', secretKey: 's/cret', url: 'https://AK:****@s3.example.com/bkt' });
  });

  it('rejects malformed storage URLs with the reason and a working example', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      ['/var/lib/strata/data', /no scheme.*Write file:\/\/\/var\/lib\/strata\/data/],
      ['data', /Write file:\/\/\.\/data/],
      ['file:/var/data', /"file:" must be followed by "\/\/"\. Did you mean file:\/\/\/var\/data\?/],
      ['file://', /the path is missing/],
      ['gs://bucket', /unknown scheme "gs" \(supported: file, s3, http, https\)/],
      ['sqlite3://./meta.db', /is a metadata engine, not a place to store data/],
      ['s3://', /the bucket name is missing/],
      ['s3://ab', /3 to 63 characters/],
      ['s3://My_Bucket', /lowercase letters, digits/],
      ['s3://-bucket', /start and end with a letter or digit/],
      ['s3://a..b', /must not contain "\.\."/],
      ['s3://192.168.1.1', /IP address/],
      ['s3://bucket//x', /empty, "\." or "\.\." segments/],
      ['s3://bucket/a/../b', /"\.\." segments/],
      ['s3://bucket?endpoint=x', /unknown option "endpoint"/],
      ['s3://bucket?region=EU WEST', /not a region name/],
      ['https://s3.example.com', /the bucket name is missing \(it is the first path segment\)/],
      ['https://s3.example.com:70000/b', /port "70000"/],
      ['https:///bucket', /the host name is missing/],
      ['s3://key@bucket', /both an access key and a secret key/],
    ];
    for (const [input, problem] of cases) {
      const err = urlError(() => parseStorageUrl(input));
      expect(err.message, JSON.stringify(input)).toMatch(problem);
      expect(err.message).toContain(`invalid storage URL ${JSON.stringify(input)}`);
      expect(err.message).toMatch(/Use e\.g\.|Write /);
    }
    expect(urlError(() => parseStorageUrl('s3://AK:topsecret@ab')).message).not.toContain('topsecret');
  });
});

describe('redactUrl', () => {
  it('masks passwords and secrets, and leaves everything else alone', () => {
    expect(redactUrl('postgres://u:p@h/db')).toBe('postgres://u:****@h/db');
    expect(redactUrl('redis://:p@h')).toBe('redis://:****@h');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(redactUrl('sqlite3://./a:b@c.db')).toBe('sqlite3://./a:b@c.db');
    expect(redactUrl('file:///x')).toBe('file:///x');
  });
});
