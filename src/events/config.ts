// A bucket's notification configuration as S3 takes it (PutBucketNotificationConfiguration):
// rules naming a destination ARN, event-name patterns and prefix/suffix filters. Parsed and
// checked here once, stored as JSON in the bucket's metadata, written back as S3's XML, and
// matched against every event of the bucket.
import { randomBytes } from 'node:crypto';
import { S3Error } from '../gateway/errors.js';
import { childText, childrenNamed, el, type XmlElement, type XmlNode } from '../gateway/xml.js';

export interface NotificationRule {
  id: string;
  /** Which element it came in (S3 keeps the three kinds apart when it answers). */
  kind: 'Queue' | 'Topic' | 'CloudFunction';
  arn: string;
  /** Event-name patterns: "s3:ObjectCreated:*", "s3:ObjectRemoved:Delete", ... */
  events: string[];
  prefix: string;
  suffix: string;
}

export interface NotificationConfig {
  rules: NotificationRule[];
}

/** Every event name a rule may ask for, by family (the family's "*" takes them all). S3's whole
 * list is accepted, so configurations written for S3 apply unchanged; Strata has no versions,
 * restores, lifecycle, replication or intelligent tiering, so those never happen here. */
const FAMILIES: Readonly<Record<string, readonly string[]>> = {
  ObjectCreated: ['Put', 'Post', 'Copy', 'CompleteMultipartUpload'],
  ObjectRemoved: ['Delete', 'DeleteMarkerCreated'],
  ObjectAccessed: ['Get', 'Head'],
  ObjectTagging: ['Put', 'Delete'],
  ObjectAcl: ['Put'],
  ObjectRestore: ['Post', 'Completed', 'Delete'],
  LifecycleExpiration: ['Delete', 'DeleteMarkerCreated'],
  LifecycleTransition: [''],
  Replication: ['OperationFailedReplication', 'OperationMissedThreshold', 'OperationReplicatedAfterThreshold', 'OperationNotTracked'],
  IntelligentTiering: [''],
  ReducedRedundancyLostObject: [''],
};

/** The elements S3 knows inside one configuration; anything else is MalformedXML, as there. */
const RULE_ELEMENTS = new Set(['Id', 'Event', 'Filter']);

const KINDS = ['Queue', 'Topic', 'CloudFunction'] as const;
const MAX_RULES = 100;
const MAX_FILTER_VALUE = 1024;

/** The concrete event names a pattern stands for (empty: not a pattern S3 knows). */
export function expandEventPattern(pattern: string): string[] {
  // "s3:Family:Name", "s3:Family:*", or for the families of one event "s3:Family".
  const m = /^s3:([A-Za-z]+)(?::([A-Za-z*]+))?$/.exec(pattern);
  const family = m ? FAMILIES[m[1]!] : undefined;
  if (!m || !family) return [];
  const name = (n: string) => (n === '' ? `s3:${m[1]}` : `s3:${m[1]}:${n}`);
  if (m[2] === undefined) return family.length === 1 && family[0] === '' ? [pattern] : [];
  if (m[2] === '*') return family.map(name);
  return family.includes(m[2]) ? [pattern] : [];
}

function invalid(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value.slice(0, 256) });
}

/** The configuration in a PutBucketNotificationConfiguration body. `knownArns` are the targets
 * this gateway delivers to; anything else is refused, as S3 refuses a destination it cannot
 * validate. Throws S3Error (MalformedXML, InvalidArgument) and changes nothing. */
export function parseNotificationConfig(root: XmlNode, knownArns: ReadonlySet<string>, skipDestinationValidation = false): NotificationConfig {
  const rules: NotificationRule[] = [];
  for (const child of root.children) {
    const kind = KINDS.find((k) => child.name === `${k}Configuration`);
    if (kind === undefined) {
      if (child.name === 'EventBridgeConfiguration') throw new S3Error('NotImplemented', 'EventBridge destinations are not supported; use a queue (--notify target) ARN.');
      throw new S3Error('MalformedXML', `Unexpected element <${child.name}> in NotificationConfiguration.`);
    }
    rules.push(parseRule(child, kind, knownArns, skipDestinationValidation));
  }
  if (rules.length > MAX_RULES) throw invalid(`At most ${MAX_RULES} notification configurations are allowed on a bucket.`, 'NotificationConfiguration', String(rules.length));
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid('Two configurations have the same Id.', 'Id', r.id);
    ids.add(r.id);
  }
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      if (overlap(rules[i]!, rules[j]!)) {
        throw invalid('Configurations overlap. Configurations on the same bucket cannot share a common event type.', 'Event', `${rules[i]!.id} and ${rules[j]!.id}`);
      }
    }
  }
  return { rules };
}

function parseRule(node: XmlNode, kind: NotificationRule['kind'], knownArns: ReadonlySet<string>, skipDestinationValidation: boolean): NotificationRule {
  for (const c of node.children) {
    if (c.name !== kind && !RULE_ELEMENTS.has(c.name)) throw new S3Error('MalformedXML', `Unexpected element <${c.name}> in ${kind}Configuration.`);
  }
  const arn = childText(node, kind)?.trim();
  if (!arn) throw new S3Error('MalformedXML', `${kind}Configuration needs a <${kind}> ARN.`);
  // x-amz-skip-destination-validation: a target another gateway of the volume delivers to; it
  // must still be one of Strata's ARNs, whose id names the queue.
  const skipped = skipDestinationValidation && /^arn:strata:sqs::[A-Za-z0-9_-]{1,64}:(redis|postgres|mysql|webhook)$/.test(arn);
  if (!knownArns.has(arn) && !skipped) {
    const known = [...knownArns].join(', ') || 'none: start the gateway with --notify';
    throw invalid(`Unable to validate the following destination configurations: ${arn} is not a target of this gateway (known: ${known}).`, arn, 'Destination ARN is not configured');
  }
  const events = childrenNamed(node, 'Event').map((e) => e.text.trim());
  if (events.length === 0) throw new S3Error('MalformedXML', `${kind}Configuration needs at least one <Event>.`);
  for (const e of events) {
    if (expandEventPattern(e).length === 0) throw invalid(`The event is not supported for notifications: ${e}.`, 'Event', e);
  }
  let prefix: string | undefined;
  let suffix: string | undefined;
  const filters = childrenNamed(node, 'Filter');
  if (filters.length > 1) throw new S3Error('MalformedXML', 'At most one <Filter> per configuration.');
  for (const filter of filters) {
    const keys = childrenNamed(filter, 'S3Key');
    if (keys.length !== 1) throw new S3Error('MalformedXML', 'A <Filter> holds one <S3Key>.');
    for (const rule of childrenNamed(keys[0]!, 'FilterRule')) {
      const name = (childText(rule, 'Name') ?? '').trim().toLowerCase();
      const value = childText(rule, 'Value') ?? '';
      if (value.length > MAX_FILTER_VALUE) throw invalid(`A filter rule value is at most ${MAX_FILTER_VALUE} characters.`, 'FilterRule', value);
      if (name === 'prefix') {
        if (prefix !== undefined) throw invalid('Cannot specify more than one prefix rule in a filter.', 'FilterRule', 'prefix');
        prefix = value;
      } else if (name === 'suffix') {
        if (suffix !== undefined) throw invalid('Cannot specify more than one suffix rule in a filter.', 'FilterRule', 'suffix');
        suffix = value;
      } else {
        throw invalid('filter rule name must be either prefix or suffix', 'FilterRule', name);
      }
    }
  }
  const id = childText(node, 'Id')?.trim() || randomId();
  return { id, kind, arn, events: [...new Set(events)], prefix: prefix ?? '', suffix: suffix ?? '' };
}

function randomId(): string {
  return `notification-${randomBytes(8).toString('hex')}`;
}

/** S3's rule: two configurations overlap when they share an event and a key could pass both
 * filters (one prefix starts the other, and one suffix ends the other). */
function overlap(a: NotificationRule, b: NotificationRule): boolean {
  const names = new Set(a.events.flatMap(expandEventPattern));
  if (!b.events.flatMap(expandEventPattern).some((n) => names.has(n))) return false;
  const prefixes = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixes = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return prefixes && suffixes;
}

/** The rules an event of `eventName` on `key` goes out by. */
export function matchingRules(config: NotificationConfig, eventName: string, key: string): NotificationRule[] {
  return config.rules.filter((r) => key.startsWith(r.prefix) && key.endsWith(r.suffix)
    && r.events.some((p) => expandEventPattern(p).includes(eventName)));
}

/** The configuration as GetBucketNotificationConfiguration answers it. */
export function notificationConfigXml(config: NotificationConfig): XmlElement {
  const order = (k: NotificationRule['kind']) => KINDS.indexOf(k);
  const rules = [...config.rules].sort((a, b) => order(a.kind) - order(b.kind));
  return el('NotificationConfiguration', rules.map((r) => el(`${r.kind}Configuration`,
    el('Id', r.id),
    el(r.kind, r.arn),
    r.events.map((e) => el('Event', e)),
    r.prefix || r.suffix ? el('Filter', el('S3Key',
      r.prefix ? el('FilterRule', el('Name', 'prefix'), el('Value', r.prefix)) : null,
      r.suffix ? el('FilterRule', el('Name', 'suffix'), el('Value', r.suffix)) : null)) : null)));
}

/** A stored configuration read back (what this build wrote; anything else is an empty one). */
export function decodeNotificationConfig(json: string): NotificationConfig {
  const parsed = JSON.parse(json) as { rules?: unknown };
  if (!Array.isArray(parsed.rules)) return { rules: [] };
  return { rules: parsed.rules as NotificationRule[] };
}
