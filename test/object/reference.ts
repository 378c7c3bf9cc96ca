// A plain model of S3 listing over a set of keys, the reference every backend's list must match.
import type { ListOptions } from '../../src/object/store.js';

/** Byte order of UTF-8, the order S3 lists keys in (not JS string order). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** S3 ListObjectsV2 semantics over a plain set of keys: the reference the backends must match. */
export function referenceList(keys: Iterable<string>, o: ListOptions = {}): { keys: string[]; prefixes: string[]; truncated: boolean; next?: string } {
  const prefix = o.prefix ?? '';
  const limit = Math.min(o.limit ?? 1000, 1000);
  const sorted = [...keys]
    .filter((k) => k.startsWith(prefix))
    .map((k) => ({ k, b: Buffer.from(k, 'utf8') }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.k);
  const entries: { name: string; isPrefix: boolean }[] = [];
  for (const k of sorted) {
    if (o.startAfter !== undefined && byteOrder(k, o.startAfter) <= 0) continue;
    let entry = { name: k, isPrefix: false };
    if (o.delimiter !== undefined) {
      const at = k.indexOf(o.delimiter, prefix.length);
      if (at >= 0) entry = { name: k.slice(0, at + o.delimiter.length), isPrefix: true };
    }
    if (entry.isPrefix && entry.name === o.startAfter) continue;
    const prev = entries[entries.length - 1];
    if (prev && prev.isPrefix && prev.name === entry.name) continue;
    entries.push(entry);
  }
  const page = entries.slice(0, limit);
  const truncated = entries.length > limit;
  return {
    keys: page.filter((e) => !e.isPrefix).map((e) => e.name),
    prefixes: page.filter((e) => e.isPrefix).map((e) => e.name),
    truncated,
    ...(truncated ? { next: page[page.length - 1].name } : {}),
  };
}

