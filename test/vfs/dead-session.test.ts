// A client silent past the stale timeout (paused, partitioned) has its session closed by a
// survivor: its locks are released and its open files forgotten. When it comes back it must
// notice, register a new session and never write rows under the dead one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openMeta } from '../../src/meta/index.js';
import { O_CREAT, O_RDWR, ROOT_INODE } from '../../src/vfs/constants.js';
import type { Caller } from '../../src/vfs/permissions.js';
import { makeVolume, type TestVolume } from '../sdk/helpers.js';

const root: Caller = { uid: 0, gid: 0, gids: [] };
let tv: TestVolume;

beforeAll(async () => {
  tv = await makeVolume();
});

afterAll(async () => {
  await tv.cleanup();
});

/** Rows that name a session the sessions table no longer has. */
function orphanRows(): string[] {
  const db = new Database(tv.metaUrl.slice('sqlite3://'.length), { readonly: true });
  try {
    const q = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[];
    return [
      ...q('SELECT session, ino FROM open_files f WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = f.session)').map((r) => `open_files ${JSON.stringify(r)}`),
      ...q('SELECT session, ino FROM flocks f WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = f.session)').map((r) => `flocks ${JSON.stringify(r)}`),
      ...q('SELECT session, ino FROM plocks f WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = f.session)').map((r) => `plocks ${JSON.stringify(r)}`),
    ];
  } finally {
    db.close();
  }
}

describe('a session closed by survivors', () => {
  it('is replaced on the client\'s next call: opens, creates and locks land under a live session; the client keeps working', async () => {
    const vfs = tv.vol.vfs;
    const { fh: held, attr } = await vfs.create(root, ROOT_INODE, 'held-open', 0o644, O_CREAT | O_RDWR);
    const first = vfs.session;

    // A survivor decides this client is dead (as after a pause past the stale timeout).
    const survivor = await openMeta(tv.metaUrl);
    expect(await survivor.cleanStaleSessions(0)).toBeGreaterThan(0);
    expect((await survivor.sessions()).map((s) => s.id)).not.toContain(first);

    // The client carries on: a create (recorded open in the same transaction), an open, locks.
    const { fh, attr: after } = await vfs.create(root, ROOT_INODE, 'after', 0o644, O_CREAT | O_RDWR);
    const { fh: again } = await vfs.open(root, attr.ino, O_RDWR);
    await vfs.flock(fh, 'owner-1', 'write');
    await vfs.setlk(fh, 'owner-2', { kind: 'write', start: 0, end: 10, pid: 1 });
    expect(vfs.session).not.toBe(first);
    expect((await survivor.sessions()).map((s) => s.id)).toContain(vfs.session);
    expect(orphanRows()).toEqual([]);
    // Its heartbeat works again, and what it took is seen by others under the new session.
    await vfs.housekeeping(60_000);
    expect(await survivor.getlk(after.ino, 999, 'someone', { kind: 'write', start: 0, end: -1, pid: 2 })).toMatchObject({ session: vfs.session });
    for (const h of [fh, again, held]) await vfs.release(h);
    await vfs.flushReleases();
    expect(orphanRows()).toEqual([]);
    await survivor.close();
  });

  it('metadata refuses rows for a closed session with ESTALE', async () => {
    const meta = await openMeta(tv.metaUrl);
    const s = await meta.newSession({ test: true });
    await meta.closeSession(s);
    const f = await meta.mknod(ROOT_INODE, 'for-estale', { mode: 0o100644, uid: 0, gid: 0 });
    for (const call of [
      () => meta.opened(s, f.ino),
      () => meta.flock(f.ino, s, 'o', 'read'),
      () => meta.setlk(f.ino, s, 'o', { kind: 'read', start: 0, end: -1, pid: 1 }),
      () => meta.mknod(ROOT_INODE, 'x-estale', { mode: 0o100644, uid: 0, gid: 0 }, s),
      () => meta.heartbeat(s),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'ESTALE' });
    }
    await expect(meta.lookup(ROOT_INODE, 'x-estale')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(orphanRows()).toEqual([]);
    await meta.close();
  });
});
