// The URLs users type for metadata (`sqlite3://./meta.db`, `postgres://...`) and for data storage
// (`file:///var/lib/strata/data`, `s3://bucket/prefix`, `https://endpoint/bucket`), parsed into
// typed objects. Every rejection says what is wrong, quotes the input (passwords masked), and shows
// a URL that would work.
import { homedir } from 'node:os';
import { resolve } from 'node:path';

export class UrlError extends Error {
  readonly code = 'ERR_INVALID_URL';

  constructor(
    /** 'metadata URL' or 'storage URL'. */
    readonly what: string,
    /** The input as typed, with any password masked. */
    readonly input: string,
    /** What is wrong with it. */
    readonly problem: string,
    /** What to write instead. */
    readonly hint: string,
  ) {
    super(`invalid ${what} ${JSON.stringify(input)}: ${problem}. ${hint}`);
  }
}
Object.defineProperty(UrlError.prototype, 'name', { value: 'UrlError', writable: true, configurable: true, enumerable: false });

export interface SqliteMetaUrl {
  kind: 'sqlite';
  /** Absolute path of the database file, or ':memory:'. */
  path: string;
  /** The URL for display. */
  url: string;
}

export interface ServerMetaUrl {
  host: string;
  port: number;
  user?: string;
  password?: string;
  /** Connection options from the query string, as given. */
  params: Record<string, string>;
  /** The URL for display, password masked. */
  url: string;
}

export interface PostgresMetaUrl extends ServerMetaUrl {
  kind: 'postgres';
  database: string;
}

export interface MysqlMetaUrl extends ServerMetaUrl {
  kind: 'mysql';
  database: string;
}

export interface RedisMetaUrl extends ServerMetaUrl {
  kind: 'redis';
  /** rediss:// */
  tls: boolean;
  /** Database number (the path), default 0. */
  db: number;
}

export type MetaUrl = SqliteMetaUrl | PostgresMetaUrl | MysqlMetaUrl | RedisMetaUrl;

export interface FileStorageUrl {
  kind: 'file';
  /** Absolute path of the data directory. */
  path: string;
  url: string;
}

export interface S3StorageUrl {
  kind: 's3';
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for none. */
  prefix: string;
  /** `https://host:port` for S3-compatible services; undefined for AWS (s3://). */
  endpoint?: string;
  region?: string;
  /** `?style=path` (endpoint/bucket/key) or `?style=virtual` (bucket.endpoint/key); undefined: the backend decides. */
  pathStyle?: boolean;
  accessKey?: string;
  secretKey?: string;
  /** The URL for display, secret masked. */
  url: string;
}

export type StorageUrl = FileStorageUrl | S3StorageUrl;

export interface ParseOptions {
  /** Directory that relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
}

const META = 'metadata URL';
const STORAGE = 'storage URL';
const META_HINT = 'Use e.g. sqlite3://./meta.db (a file relative to the current directory) or sqlite3:///var/lib/strata/meta.db';
const STORAGE_HINT = 'Use e.g. file:///var/lib/strata/data (a local directory), s3://mybucket/prefix, or https://s3.example.com/mybucket/prefix';
const POSTGRES_HINT = 'Use e.g. postgres://user:password@db.example.com:5432/strata';
const MYSQL_HINT = 'Use e.g. mysql://user:password@db.example.com:3306/strata';
const REDIS_HINT = 'Use e.g. redis://:password@redis.example.com:6379/1';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;

/** `input` with any password in it replaced by `****` (for messages and logs). With `showQuery`,
 * the values of query options not named there are hidden too (`***`): options that may carry a
 * secret (a token, a driver's password=). */
export function redactUrl(input: string, showQuery?: readonly string[]): string {
  // The password runs to the last "@" before the path: one may hold "@" unescaped.
  const out = input.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^:@/?#]*):([^/?#]*)@/, (_m, scheme: string, user: string) => `${scheme}${user}:****@`);
  if (!showQuery) return out;
  return out.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, name: string) => (showQuery.includes(name) ? whole : `${sep}${name}=***`));
}

function fail(what: string, input: string, problem: string, hint: string): never {
  throw new UrlError(what, redactUrl(input), problem, hint);
}

/** Shared checks: a string, not blank, no stray whitespace or NUL, with `scheme://`. */
function split(what: string, input: unknown, hint: string): { scheme: string; rest: string; input: string } {
  if (typeof input !== 'string') throw new TypeError(`${what} must be a string, got ${input === null ? 'null' : typeof input}`);
  if (input.trim() === '') fail(what, input, 'it is empty', hint);
  if (input.trim() !== input) fail(what, input, 'it has spaces around it', `Remove them. ${hint}`);
  if (input.includes('\0')) fail(what, input, 'it contains a NUL byte', hint);
  const m = SCHEME.exec(input);
  if (!m || m[1].length === 1) {
    // No scheme (or a Windows drive letter): most likely a bare path.
    const looksLikeFile = /\.(db|sqlite3?)$/i.test(input);
    let suggestion = hint;
    if (what === META && looksLikeFile) suggestion = `Write sqlite3://${input} for a SQLite file. ${hint}`;
    if (what === STORAGE) suggestion = `Write file://${input.startsWith('/') ? '' : './'}${input} for a local directory. ${hint}`;
    fail(what, input, 'it has no scheme (such as sqlite3:// or file://)', suggestion);
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (!rest.startsWith('//')) {
    const fixed = `${scheme}://${rest}`;
    fail(what, input, `"${m[1]}:" must be followed by "//"`, `Did you mean ${redactUrl(fixed)}? ${hint}`);
  }
  return { scheme, rest: rest.slice(2), input };
}

/** Decode %XX escapes; a stray '%' is an error (write %25 for a literal '%'). */
function decodePercent(what: string, input: string, text: string, hint: string): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) fail(what, input, 'it has a "%" that is not a %XX escape', `Write %25 for a literal "%". ${hint}`);
  let out: string;
  try {
    out = decodeURIComponent(text);
  } catch {
    fail(what, input, 'its %XX escapes are not valid UTF-8', hint);
  }
  if (out.includes('\0')) fail(what, input, 'it contains a NUL byte (%00)', hint);
  return out;
}

/** A local path from the part after `scheme://`: relative to cwd unless absolute; `~/` is the home directory. */
function localPath(what: string, input: string, raw: string, hint: string, cwd: string): string {
  if (raw === '') fail(what, input, 'the path is missing', hint);
  if (raw.includes('?') || raw.includes('#')) fail(what, input, 'local paths take no "?" options or "#" fragments', `Rename the file if its name has "?" or "#" in it, or write them as %3F and %23. ${hint}`);
  const path = decodePercent(what, input, raw, hint);
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(cwd, path);
}

export function parseMetaUrl(input: string, options: ParseOptions = {}): MetaUrl {
  const { scheme, rest } = split(META, input, META_HINT);
  const cwd = options.cwd ?? process.cwd();
  switch (scheme) {
    case 'sqlite3': {
      if (rest === ':memory:') return { kind: 'sqlite', path: ':memory:', url: input };
      if (rest.endsWith('/')) fail(META, input, 'the path names a directory, not a database file', `Add a file name, e.g. sqlite3://${rest}meta.db`);
      const path = localPath(META, input, rest, META_HINT, cwd);
      return { kind: 'sqlite', path, url: input };
    }
    case 'sqlite':
      return fail(META, input, 'the scheme is "sqlite3", not "sqlite"', `Did you mean sqlite3://${rest}?`);
    case 'postgres':
    case 'postgresql': {
      const a = serverParts(META, input, rest, 5432, POSTGRES_HINT);
      return { kind: 'postgres', ...a.server, database: databaseName(input, a.path, POSTGRES_HINT) };
    }
    case 'mysql': {
      // Accept the Go driver's `user:pass@(host:port)/db` form as well as the plain one.
      const plain = rest.replace(/@\(([^)]*)\)/, '@$1').replace(/^\(([^)]*)\)/, '$1');
      const a = serverParts(META, input, plain, 3306, MYSQL_HINT);
      return { kind: 'mysql', ...a.server, database: databaseName(input, a.path, MYSQL_HINT) };
    }
    case 'redis':
    case 'rediss': {
      const a = serverParts(META, input, rest, 6379, REDIS_HINT);
      const dbText = a.path.replace(/^\//, '');
      if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) fail(META, input, `the database "${dbText}" must be a number`, REDIS_HINT);
      return { kind: 'redis', ...a.server, tls: scheme === 'rediss', db: dbText === '' ? 0 : Number(dbText) };
    }
    case 'file':
    case 's3':
    case 'http':
    case 'https':
      return fail(META, input, `"${scheme}://" is where data is stored, not metadata`, `Pass it as the storage URL instead. ${META_HINT}`);
    default:
      return fail(META, input, `unknown scheme "${scheme}" (supported: sqlite3, postgres, mysql, redis)`, META_HINT);
  }
}

function databaseName(input: string, path: string, hint: string): string {
  const name = decodePercent(META, input, path.replace(/^\//, ''), hint);
  if (name === '') fail(META, input, 'the database name is missing', hint);
  if (name.includes('/')) fail(META, input, `the database name "${name}" must not contain "/"`, hint);
  return name;
}

/** `user:password@host:port/path?query` of a server URL. */
function serverParts(what: string, input: string, rest: string, defaultPort: number, hint: string): { server: Omit<ServerMetaUrl, 'url'> & { url: string }; path: string } {
  if (rest.includes('#')) fail(what, input, 'it has a "#" fragment', `Write "#" in a password as %23. ${hint}`);
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  const beforeQuery = q >= 0 ? rest.slice(0, q) : rest;
  const slash = beforeQuery.indexOf('/');
  const authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const path = slash >= 0 ? beforeQuery.slice(slash) : '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;

  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) fail(what, input, 'the IPv6 address is missing its closing "]"', hint);
    host = hostport.slice(0, close + 1);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail(what, input, `unexpected "${after}" after the IPv6 address`, hint);
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = hostport.lastIndexOf(':');
    host = colon >= 0 ? hostport.slice(0, colon) : hostport;
    portText = colon >= 0 ? hostport.slice(colon + 1) : undefined;
  }
  if (host === '') fail(what, input, 'the host name is missing', hint);
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)$/.test(host)) fail(what, input, `the host "${host}" is not a valid host name`, hint);
  let port = defaultPort;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) fail(what, input, `the port "${portText}" must be a number from 1 to 65535`, hint);
  }

  const server: Omit<ServerMetaUrl, 'url'> & { url: string } = { host, port, params: {}, url: redactUrl(input) };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decodePercent(what, input, colon >= 0 ? userinfo.slice(0, colon) : userinfo, hint);
    if (user !== '') server.user = user;
    if (colon >= 0) server.password = decodePercent(what, input, userinfo.slice(colon + 1), `Write special characters in the password as %XX escapes. ${hint}`);
  }
  for (const [k, v] of new URLSearchParams(query)) server.params[k] = v;
  return { server, path };
}

export function parseStorageUrl(input: string, options: ParseOptions = {}): StorageUrl {
  const { scheme, rest } = split(STORAGE, input, STORAGE_HINT);
  const cwd = options.cwd ?? process.cwd();
  switch (scheme) {
    case 'file': {
      // file://localhost/path is the standard spelling of file:///path.
      const raw = rest.startsWith('localhost/') ? rest.slice('localhost'.length) : rest;
      return { kind: 'file', path: localPath(STORAGE, input, raw, STORAGE_HINT, cwd), url: input };
    }
    case 's3':
      return s3Url(input, rest);
    case 'http':
    case 'https':
      return endpointUrl(input, scheme, rest);
    case 'sqlite3':
    case 'postgres':
    case 'postgresql':
    case 'mysql':
    case 'redis':
    case 'rediss':
      return fail(STORAGE, input, `"${scheme}://" is a metadata engine, not a place to store data`, `Pass it as the metadata URL instead. ${STORAGE_HINT}`);
    default:
      return fail(STORAGE, input, `unknown scheme "${scheme}" (supported: file, s3, http, https)`, STORAGE_HINT);
  }
}

const S3_HINT = 'Use e.g. s3://mybucket/prefix';
const ENDPOINT_HINT = 'Use e.g. https://s3.example.com:9000/mybucket/prefix (the bucket is the first path segment)';

/** S3's bucket naming rules, each with its own message. */
function checkBucket(input: string, bucket: string, hint: string): void {
  if (bucket === '') fail(STORAGE, input, 'the bucket name is missing', hint);
  if (bucket.length < 3 || bucket.length > 63) fail(STORAGE, input, `the bucket name "${bucket}" must be 3 to 63 characters long`, hint);
  if (!/^[a-z0-9.-]+$/.test(bucket)) fail(STORAGE, input, `the bucket name "${bucket}" may only contain lowercase letters, digits, "." and "-"`, hint);
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) fail(STORAGE, input, `the bucket name "${bucket}" must start and end with a letter or digit`, hint);
  if (bucket.includes('..')) fail(STORAGE, input, `the bucket name "${bucket}" must not contain ".."`, hint);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) fail(STORAGE, input, `the bucket name "${bucket}" must not look like an IP address`, hint);
}

function checkPrefix(input: string, raw: string, hint: string): string {
  const prefix = decodePercent(STORAGE, input, raw, hint).replace(/\/+$/, '');
  if (prefix === '') return '';
  if (prefix.startsWith('/') || prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    fail(STORAGE, input, `the prefix "${prefix}" must not contain empty, "." or ".." segments`, hint);
  }
  if (Buffer.byteLength(prefix) > 512) fail(STORAGE, input, 'the prefix is longer than 512 bytes', hint);
  return prefix;
}

/** `?region=...` and `?style=path|virtual`, the only options storage URLs take. */
function storageParams(input: string, query: string, hint: string): { region?: string; pathStyle?: boolean } {
  const out: { region?: string; pathStyle?: boolean } = {};
  for (const [k, v] of new URLSearchParams(query)) {
    if (k === 'style') {
      if (v !== 'path' && v !== 'virtual') fail(STORAGE, input, `the style "${v}" must be "path" or "virtual"`, `${hint}?style=path`);
      out.pathStyle = v === 'path';
      continue;
    }
    if (k !== 'region') fail(STORAGE, input, `unknown option "${k}" (storage URLs take only ?region=... and ?style=path|virtual)`, hint);
    if (!/^[a-z0-9-]+$/.test(v)) fail(STORAGE, input, `the region "${v}" is not a region name`, `${hint}?region=us-east-1`);
    out.region = v;
  }
  return out;
}

function credentials(input: string, userinfo: string | undefined, hint: string): { accessKey?: string; secretKey?: string } {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  if (colon < 0) fail(STORAGE, input, 'credentials in the URL need both an access key and a secret key (key:secret@)', hint);
  const accessKey = decodePercent(STORAGE, input, userinfo.slice(0, colon), hint);
  const secretKey = decodePercent(STORAGE, input, userinfo.slice(colon + 1), `Write special characters in the secret as %XX escapes. ${hint}`);
  if (accessKey === '' || secretKey === '') fail(STORAGE, input, 'the access key or the secret key is empty', hint);
  return { accessKey, secretKey };
}

function splitQuery(input: string, rest: string, hint: string): [string, string] {
  if (rest.includes('#')) fail(STORAGE, input, 'it has a "#" fragment', `Write "#" in a secret as %23. ${hint}`);
  const q = rest.indexOf('?');
  return q >= 0 ? [rest.slice(0, q), rest.slice(q + 1)] : [rest, ''];
}

function s3Url(input: string, rest: string): S3StorageUrl {
  const [location, query] = splitQuery(input, rest, S3_HINT);
  const slash = location.indexOf('/');
  const authority = slash >= 0 ? location.slice(0, slash) : location;
  const at = authority.lastIndexOf('@');
  const bucket = at >= 0 ? authority.slice(at + 1) : authority;
  checkBucket(input, bucket, S3_HINT);
  const prefix = checkPrefix(input, slash >= 0 ? location.slice(slash + 1) : '', S3_HINT);
  return {
    kind: 's3',
    bucket,
    prefix,
    ...storageParams(input, query, S3_HINT),
    ...credentials(input, at >= 0 ? authority.slice(0, at) : undefined, S3_HINT),
    url: redactUrl(input),
  };
}

function endpointUrl(input: string, scheme: string, rest: string): S3StorageUrl {
  const [location, query] = splitQuery(input, rest, ENDPOINT_HINT);
  const slash = location.indexOf('/');
  const authority = slash >= 0 ? location.slice(0, slash) : location;
  const at = authority.lastIndexOf('@');
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;
  // Host and port follow the same rules as a database server's.
  const { server } = serverParts(STORAGE, input, hostport, scheme === 'https' ? 443 : 80, ENDPOINT_HINT);
  const path = slash >= 0 ? location.slice(slash + 1) : '';
  const cut = path.indexOf('/');
  const bucket = decodePercent(STORAGE, input, cut >= 0 ? path.slice(0, cut) : path, ENDPOINT_HINT);
  if (bucket === '') fail(STORAGE, input, 'the bucket name is missing (it is the first path segment)', ENDPOINT_HINT);
  checkBucket(input, bucket, ENDPOINT_HINT);
  const prefix = checkPrefix(input, cut >= 0 ? path.slice(cut + 1) : '', ENDPOINT_HINT);
  const defaultPort = scheme === 'https' ? 443 : 80;
  const endpoint = `${scheme}://${server.host}${server.port === defaultPort ? '' : `:${server.port}`}`;
  return {
    kind: 's3',
    bucket,
    prefix,
    endpoint,
    ...storageParams(input, query, ENDPOINT_HINT),
    ...credentials(input, at >= 0 ? authority.slice(0, at) : undefined, ENDPOINT_HINT),
    url: redactUrl(input),
  };
}
