// The seam's list page built from ListObjectsV2 answers. S3 returns objects and common prefixes
// in two separate lists and, when start-after is itself a common prefix (how the seam pages past
// one), may list that prefix again; this merges, drops the repeat, and asks again when dropping
// left the page short. Every request that starts after a name asks for one entry more than it
// needs, so a repeat can never be the whole of a truncated answer.
import { errnoError } from '../errors/errno.js';
import { compareKeys, MAX_LIST_LIMIT, type CheckedListOptions, type ListPage, type ObjectInfo } from './store.js';

export interface RawListPage {
  objects: ObjectInfo[];
  prefixes: string[];
  /** The service says more entries follow. */
  truncated: boolean;
}

type Entry = { name: string; object?: ObjectInfo };

/** One page for `o`, calling `fetch(prefix, startAfter, maxKeys)` as often as it takes (once, usually). */
export async function listPage(o: CheckedListOptions, fetch: (prefix: string, startAfter: string | undefined, maxKeys: number) => Promise<RawListPage>): Promise<ListPage> {
  const entries: Entry[] = [];
  let after = o.startAfter;
  while (entries.length <= o.limit) {
    // One entry beyond the page says whether another page follows; when starting after a name
    // that may come back as a repeated prefix, one more, so every truncated answer moves on.
    const want = o.limit + 1 - entries.length + (after === undefined ? 0 : 1);
    const raw = await fetch(o.prefix, after, Math.min(MAX_LIST_LIMIT, want));
    const merged: Entry[] = [
      ...raw.objects.map((object) => ({ name: object.key, object })),
      ...raw.prefixes.map((name) => ({ name })),
    ].sort((a, b) => compareKeys(a.name, b.name));
    for (const e of merged) {
      if (e.object === undefined && e.name === after) continue;
      entries.push(e);
    }
    if (!raw.truncated) break;
    const last = merged[merged.length - 1]?.name;
    // Asking again from the same place would get the same answer, forever.
    if (last === undefined || last === after) {
      throw errnoError('EIO', 'list', o.prefix === '' ? undefined : o.prefix, `the storage service said more keys follow after ${JSON.stringify(after ?? '')} but sent ${last === undefined ? 'none' : 'only that name again'}`);
    }
    after = last;
  }
  const page = entries.slice(0, o.limit);
  const truncated = entries.length > o.limit;
  const out: ListPage = {
    objects: page.filter((e) => e.object !== undefined).map((e) => e.object!),
    prefixes: page.filter((e) => e.object === undefined).map((e) => e.name),
    truncated,
  };
  if (truncated) out.next = page[page.length - 1].name;
  return out;
}
