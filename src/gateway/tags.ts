// Object tags: at most 10 per object, keys up to 128 and values up to 256 characters, no key
// twice — as a request header (URL-encoded) or a Tagging document.
import { S3Error } from './errors.js';
import { childText, childrenNamed, el, type XmlElement, type XmlNode } from './xml.js';

export type TagSet = [string, string][];

const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;

export function checkTags(tags: TagSet, max = MAX_OBJECT_TAGS): TagSet {
  if (tags.length > max) throw new S3Error('InvalidTag', `At most ${max} tags are allowed here; ${tags.length} were given.`);
  const seen = new Set<string>();
  for (const [k, v] of tags) {
    if (k.length === 0 || k.length > 128) throw new S3Error('InvalidTag', `The tag key "${k.slice(0, 140)}" must be 1 to 128 characters long.`);
    if (v.length > 256) throw new S3Error('InvalidTag', `The value of tag "${k}" is longer than 256 characters.`);
    if (seen.has(k)) throw new S3Error('InvalidTag', `Cannot provide multiple tags with the same key "${k}".`);
    seen.add(k);
  }
  // S3 keeps tags by key: they come back sorted (byte order), whatever order they were sent in.
  return [...tags].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
}

/** The x-amz-tagging header: "k1=v1&k2=v2", URL-encoded. */
export function tagsFromHeader(value: string | undefined): TagSet | undefined {
  if (value === undefined) return undefined;
  const tags: TagSet = [];
  for (const [k, v] of new URLSearchParams(value)) tags.push([k, v]);
  return checkTags(tags);
}

export function tagsFromXml(root: XmlNode, max?: number): TagSet {
  const set = childrenNamed(root, 'TagSet');
  if (set.length !== 1) throw new S3Error('MalformedXML', 'A Tagging document holds exactly one <TagSet>.');
  const tags: TagSet = childrenNamed(set[0], 'Tag').map((t) => {
    const k = childText(t, 'Key');
    if (k === undefined) throw new S3Error('MalformedXML', 'Every <Tag> needs a <Key>.');
    return [k, childText(t, 'Value') ?? ''];
  });
  return checkTags(tags, max);
}

export function tagsToXml(tags: TagSet): XmlElement {
  return el('Tagging', el('TagSet', tags.map(([k, v]) => el('Tag', el('Key', k), el('Value', v)))));
}
