// strata mirror create / resync: a mirror starts as a copy of the primary's volume taken from one
// snapshot at a known version, and records (in its own settings rows) the primary it follows,
// its name among the primary's log consumers, and its own object store if it has one. Blocks are
// not copied up front: a mirror serves reads at once, taking blocks it lacks from the primary's
// store. The primary keeps its change log from the snapshot's version on for this mirror.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { parseMetaUrl, redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { MirrorSettings } from '../meta/meta.js';
import type { DumpCounts, DumpHeader } from '../meta/sql/dump.js';
import { openDriver } from '../meta/sql/open.js';
import { readSettings, writeMirrorSettings } from '../meta/sql/settings.js';
import type { SqlDriver } from '../meta/sql/driver.js';
import { connectPrimary, primaryUrl, withoutPassword } from './primary.js';
import { copySnapshot, type SnapshotProgress } from './snapshot.js';

export interface CreateMirrorOptions extends SnapshotProgress {
  /** The mirror's own object store (blocks are copied there); default: read the primary's. */
  storage?: string;
  /** Credentials of `storage` as settings keep them (see object/s3-credentials.ts). */
  storageCredentials?: string;
  /** The primary's store as this region reaches it, when not at the primary's storage URL. */
  primaryStorage?: string;
}

export type SnapshotResult = DumpHeader & DumpCounts & { mirror: MirrorSettings };

/** Make `mirrorUrl` (an empty database of any kind) a mirror of the volume at `primary`. */
export async function createMirror(primary: string, mirrorUrl: string, options: CreateMirrorOptions = {}): Promise<SnapshotResult> {
  const src = await connectPrimary(primary, null);
  let target: { driver: SqlDriver; empty: boolean } | null = null;
  try {
    target = await openDriver(parseMetaUrl(mirrorUrl), { create: true });
    if (!target.empty) throw errnoError('EEXIST', 'mirror', undefined, `${redactUrl(mirrorUrl)} already holds a volume: a mirror is created in an empty database`);
    const settings: MirrorSettings = {
      primary: withoutPassword(absoluteSqlite(primary)), id: `mirror-${randomUUID()}`, copiedVersion: 0, backfilledSlice: 0, backfillTo: 0,
      ...(options.storage !== undefined ? { storage: options.storage } : {}),
      ...(options.storageCredentials !== undefined ? { storageCredentials: options.storageCredentials } : {}),
      ...(options.primaryStorage !== undefined ? { primaryStorage: options.primaryStorage } : {}),
    };
    return await snapshotInto(src, target.driver, settings, false, options);
  } finally {
    await target?.driver.close().catch(() => undefined);
    await src.close().catch(() => undefined);
  }
}

/** An SQLite primary kept by an absolute path: the replicator may start anywhere. */
function absoluteSqlite(url: string): string {
  const parsed = parseMetaUrl(url);
  return parsed.kind === 'sqlite' && parsed.path !== ':memory:' ? `sqlite3://${resolve(parsed.path)}` : url;
}

/** Load the primary's volume again into a mirror that fell too far behind (its log position was
 * pruned away): same mirror, same store, a new starting version. */
export async function resyncMirror(mirrorUrl: string, options: { primary?: string } & SnapshotProgress = {}): Promise<SnapshotResult> {
  const { driver } = await openDriver(parseMetaUrl(mirrorUrl));
  try {
    const current = await driver.read((c) => readSettings(c, driver.url));
    if (!current.mirror) throw errnoError('EINVAL', 'mirror', undefined, `${redactUrl(mirrorUrl)} is not a mirror`);
    const src = await connectPrimary(primaryUrl(current.mirror, options.primary), current.uuid);
    try {
      return await snapshotInto(src, driver, current.mirror, true, options);
    } finally {
      await src.close().catch(() => undefined);
    }
  } finally {
    await driver.close().catch(() => undefined);
  }
}

async function snapshotInto(src: Awaited<ReturnType<typeof connectPrimary>>, mirror: SqlDriver, settings: MirrorSettings, replace: boolean, progress: SnapshotProgress): Promise<SnapshotResult> {
  // Held from before the snapshot: the primary cannot prune the versions the mirror will need.
  await src.meta.registerConsumer(settings.id, await src.meta.version());
  let done: MirrorSettings = settings;
  const result = await copySnapshot(src.driver, mirror, {
    replace,
    // In the load's transaction: the copy is a mirror from its first commit.
    finish: async (c, header) => {
      // The log names only slices made from here on; the ones loaded now are copied by a backfill.
      const top = Number((await c.get<{ n: unknown }>('SELECT coalesce(max(id), 0) AS n FROM slice_refs'))!.n);
      done = { ...settings, copiedVersion: header.version, backfilledSlice: 0, backfillTo: top };
      await writeMirrorSettings(c, mirror.dialect, done);
    },
  }, progress).catch(async (err: unknown) => {
    // A mirror that was never made must not hold the primary's log back.
    if (!replace) await src.meta.dropConsumer(settings.id).catch(() => undefined);
    throw err;
  });
  await src.meta.registerConsumer(settings.id, result.version);
  return { ...result, mirror: done };
}

/** Drop a mirror from the primary's log consumers (a mirror that is gone holds the log back). */
export async function forgetMirror(primary: string, name: string): Promise<void> {
  const src = await connectPrimary(primary, null);
  try {
    const known = await src.meta.consumers();
    if (!known.some((c) => c.name === name)) {
      throw errnoError('ENOENT', 'mirror', undefined, `the primary at ${redactUrl(primary)} keeps its log for no mirror named "${name}" (it does for: ${known.map((c) => c.name).join(', ') || 'none'})`);
    }
    await src.meta.dropConsumer(name);
  } finally {
    await src.close();
  }
}
