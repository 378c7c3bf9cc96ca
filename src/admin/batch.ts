// What the volume-management tools (warmup, gc, fsck, import) share: bounded parallel work over a
// list, and the pages of a store's listing.
import type { ListPage, ObjectStore } from '../object/store.js';

/** Run `work` on every item, at most `threads` at once. */
export async function eachLimited<T>(items: T[], threads: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(threads, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/** The pages of everything under `chunks/`, in key order; stops early when `stopped()`. */
export function chunkPages(objects: ObjectStore, pageSize: number, stopped: () => boolean): AsyncGenerator<ListPage> {
  return listPages(objects, 'chunks/', pageSize, stopped);
}

/** The pages of everything under `prefix`, in key order; stops early when `stopped()`. */
export async function* listPages(objects: ObjectStore, prefix: string, pageSize: number, stopped: () => boolean): AsyncGenerator<ListPage> {
  let startAfter: string | undefined;
  for (;;) {
    if (stopped()) return;
    const page = await objects.list({ prefix, startAfter, limit: pageSize });
    yield page;
    if (!page.truncated || page.objects.length === 0) return;
    startAfter = page.next ?? page.objects[page.objects.length - 1].key;
  }
}
