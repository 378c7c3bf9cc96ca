// Where bucket event notifications go: what a target is, and the gateway's --notify spec that
// names one ("TYPE:ID=URL").
import { redactUrl } from '../../config/urls.js';

export type TargetType = 'redis' | 'postgres' | 'mysql' | 'webhook';

/** access: every event appended, in order (a log); namespace: one entry per object, its last
 * event (a mirror of the bucket's keys). */
export type TargetFormat = 'access' | 'namespace';

export interface DeliveredEvent {
  /** The namespace format's key: "bucket/key" for an object event, "bucket" for a bucket event. */
  key: string;
  /** Object events have one; bucket events (s3:BucketCreated / s3:BucketRemoved) do not. */
  object: boolean;
  /** Full S3 event name, e.g. "s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete". */
  eventName: string;
  /** One S3 event record (an element of Records[]), already complete. */
  record: Record<string, unknown>;
  time: Date;
}

export interface TargetSpec {
  type: TargetType;
  id: string;
  /** The URL with `${NAME}`s expanded and Strata's own options (format, key, table, token)
   * removed: what the driver is given. */
  url: string;
  format: TargetFormat;
  /** Redis: the list (access) or hash (namespace) the events go to. */
  key?: string;
  /** PostgreSQL, MySQL: the table the events go to. */
  table?: string;
  /** Webhook: sent as `Authorization: Bearer TOKEN`. */
  token?: string;
  /** The expanded URL, options included, with any password and token shown as "***". */
  describe: string;
}

export interface EventTarget {
  readonly type: TargetType;
  readonly id: string;
  /** "arn:strata:sqs::ID:TYPE", as S3 clients name a queue. */
  readonly arn: string;
  /** The URL with any password and token replaced by "***", for logs and status output. */
  readonly describe: string;
  /** Store these events, in order. Resolves once all are stored; rejects (with a PublishError naming
   * the target and the cause, and how many of the first events it did store) otherwise — the caller retries the whole batch later, so a partial
   * write is fine (duplicates are allowed, losses are not). Never throws synchronously; connects
   * again by itself after the server was down. */
  publish(events: readonly DeliveredEvent[]): Promise<void>;
  close(): Promise<void>;
}

export const TARGET_TYPES: readonly TargetType[] = ['redis', 'postgres', 'mysql', 'webhook'];
export const DEFAULT_REDIS_KEY = 'strata-events';
export const DEFAULT_TABLE = 'strata_events';

const SCHEMES: Record<TargetType, readonly string[]> = {
  redis: ['redis:', 'rediss:'],
  postgres: ['postgres:', 'postgresql:'],
  mysql: ['mysql:'],
  webhook: ['http:', 'https:'],
};

const EXAMPLES: Record<TargetType, string> = {
  redis: 'redis:main=redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0?format=namespace&key=bucket-events',
  postgres: 'postgres:audit=postgres://strata:${PG_PASSWORD}@db.example.com:5432/events?table=s3_events',
  mysql: 'mysql:audit=mysql://strata:${MYSQL_PASSWORD}@db.example.com:3306/events?format=namespace',
  webhook: 'webhook:hook=https://hooks.example.com/s3?token=${HOOK_TOKEN}',
};

/** Strata's own query options per type; SQL URLs may carry the driver's too (sslmode, ...),
 * Redis and webhook URLs nothing else (a misspelt option would otherwise go unnoticed). */
const OPTIONS: Record<TargetType, readonly string[]> = {
  redis: ['format', 'key'],
  postgres: ['format', 'table'],
  mysql: ['format', 'table'],
  webhook: ['format', 'token'],
};
const PASSES_DRIVER_OPTIONS: Record<TargetType, boolean> = { redis: false, postgres: true, mysql: true, webhook: false };
const STRATA_OPTIONS = ['format', 'key', 'table', 'token'];

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function targetArn(type: TargetType, id: string): string {
  return `arn:strata:sqs::${id}:${type}`;
}

/** Parse "TYPE:ID=URL" (the gateway's --notify flag). `${NAME}` in the URL is replaced by the
 * environment variable NAME, as is (percent-encode special characters in the variable), so
 * secrets need not be on the command line. */
export function parseTargetSpec(spec: string, env: NodeJS.ProcessEnv = process.env): TargetSpec {
  const shown = redactSpec(spec);
  const fail = (problem: string, type?: TargetType): never => {
    const examples = type ? EXAMPLES[type] : `${EXAMPLES.redis} or ${EXAMPLES.webhook}`;
    throw new Error(`notification target "${shown}": ${problem}. Use e.g. ${examples}`);
  };

  const colon = spec.indexOf(':');
  const equals = spec.indexOf('=', colon + 1);
  if (colon < 0 || equals < 0) fail('expected TYPE:ID=URL');
  const typeName = spec.slice(0, colon);
  if (!(TARGET_TYPES as readonly string[]).includes(typeName)) {
    fail(`unknown target type "${typeName}" (the types are ${TARGET_TYPES.join(', ')})`);
  }
  const type = typeName as TargetType;
  const id = spec.slice(colon + 1, equals);
  if (!ID.test(id)) fail(`the id "${id}" must be 1 to 64 letters, digits, "_" or "-"`, type);

  let expanded: string;
  try {
    expanded = expandVariables(spec.slice(equals + 1), env);
  } catch (err) {
    return fail((err as Error).message, type);
  }
  let url: URL;
  try {
    url = new URL(expanded);
  } catch {
    // Not the expanded text: a variable's value (a password holding "/" or "#") would show.
    return fail('the URL does not parse (after ${VAR}s are put in: percent-encode "/", "#", "?" and "@" in their values)', type);
  }
  if (!SCHEMES[type].includes(url.protocol)) {
    fail(`a ${type} target needs a ${SCHEMES[type].map((s) => `${s}//`).join(' or ')} URL, not ${url.protocol}//`, type);
  }
  const describe = describeUrl(url);

  const options = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    const own = OPTIONS[type].includes(name);
    if (!own && (STRATA_OPTIONS.includes(name) || !PASSES_DRIVER_OPTIONS[type])) {
      fail(`unknown option "${name}" for a ${type} target (its options: ${OPTIONS[type].join(', ')})`, type);
    }
    if (!own) continue;
    if (options.has(name)) fail(`the option "${name}" is given twice`, type);
    options.set(name, value);
  }
  for (const name of options.keys()) url.searchParams.delete(name);

  const format = options.get('format') ?? 'access';
  if (format !== 'access' && format !== 'namespace') fail(`format must be access or namespace, not "${format}"`, type);
  if (type === 'webhook' && format !== 'access') fail('a webhook target only sends the access format (each event, in order)', type);
  const parsed: TargetSpec = { type, id, url: url.toString(), format: format as TargetFormat, describe };

  if (type === 'redis') {
    if (!/^\/?(\d+)?$/.test(url.pathname)) fail(`the path of a redis URL is the database number (e.g. /0), not "${url.pathname}"`, type);
    parsed.key = options.get('key') ?? DEFAULT_REDIS_KEY;
    if (parsed.key === '') fail('key= names the list or hash and must not be empty', type);
  }
  if (type === 'postgres' || type === 'mysql') {
    parsed.table = options.get('table') ?? DEFAULT_TABLE;
    if (!TABLE.test(parsed.table)) fail(`the table name "${parsed.table}" must be a letter or "_" then up to 62 letters, digits or "_"`, type);
  }
  if (type === 'webhook' && options.has('token')) {
    parsed.token = options.get('token');
    if (parsed.token === '') fail('token= must not be empty (leave it out to send no Authorization header)', type);
    if (url.username !== '' || url.password !== '') fail('give either a user and password in the URL (Basic) or token= (Bearer), not both', type);
  }
  return parsed;
}

function expandVariables(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(VARIABLE, (_m, name: string) => {
    if (!VARIABLE_NAME.test(name)) throw new Error(`"\${${name}}" is not an environment variable name`);
    const value = env[name];
    if (value === undefined) throw new Error(`the environment variable ${name} (in \${${name}}) is not set`);
    return value;
  });
}

/** Query options shown as they are; any other value (token=, a driver's password=) is hidden. */
const SHOWN_OPTIONS = ['format', 'key', 'table', 'sslmode'];

function describeUrl(url: URL): string {
  const shown = new URL(url);
  if (shown.password !== '') shown.password = '***';
  for (const name of [...shown.searchParams.keys()]) if (!SHOWN_OPTIONS.includes(name)) shown.searchParams.set(name, '***');
  return shown.toString();
}

/** The spec as typed, with any password or token in it hidden (it goes into error messages). */
function redactSpec(spec: string): string {
  const equals = spec.indexOf('=');
  return equals < 0 ? spec : spec.slice(0, equals + 1) + redactUrl(spec.slice(equals + 1), SHOWN_OPTIONS);
}

/** What an event does to a namespace-format target, which mirrors the objects there are: a
 * removal drops the object's entry, a creation sets it; reads, tags and buckets change nothing
 * (a read arriving after a deletion must not bring the entry back). */
export function namespaceChange(event: DeliveredEvent): 'set' | 'remove' | null {
  if (!event.object) return null;
  if (event.eventName.startsWith('s3:ObjectRemoved:')) return 'remove';
  if (event.eventName.startsWith('s3:ObjectCreated:')) return 'set';
  return null;
}

/** The stored document of one event, as S3 sends it: {"Records":[record]}. */
export function recordsDocument(event: DeliveredEvent): string {
  return JSON.stringify({ Records: [event.record] });
}

/** Why a publish failed, naming the target (the caller logs it and retries later). */
/** `delivered`: how many of the batch's first events the target took before it failed (they need
 * not be sent again). */
export function publishFailure(target: Pick<EventTarget, 'type' | 'id' | 'describe'>, cause: unknown, delivered = 0): PublishError {
  return Object.assign(new Error(`event target ${target.type}:${target.id} (${target.describe}): ${reason(cause)}`, { cause }), { delivered });
}

export type PublishError = Error & { delivered: number };

function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // Connecting to "localhost" tries each address; Node reports that as an AggregateError with
  // no message of its own.
  if (err.message === '' && err instanceof AggregateError) return err.errors.map(reason).join('; ');
  return err.message || (err as NodeJS.ErrnoException).code || err.name;
}
