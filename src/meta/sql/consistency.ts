// Whole-volume consistency of the metadata, read in one snapshot: names point at inodes, link
// counts match names, directories hang from the root exactly once, slice references match their
// users, each file's stored bytes match its slices, and the counters match what they count.
// Returns every problem found, in words; an empty list means consistent.
import { dataBytesInChunks, type Span } from '../coverage.js';
import { CHUNK_SIZE, ROOT_INODE } from '../meta.js';
import type { SqlDriver } from './driver.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export async function consistencyProblems(db: SqlDriver): Promise<string[]> {
  return db.snapshot(async (c) => {
    const problems: string[] = [];
    const num = (v: unknown) => Number(v);
    const inodes = new Map<number, { mode: number; nlink: number; parent: number; stored: number }>();
    for (const r of await c.all('SELECT ino, mode, nlink, parent, stored FROM inodes')) {
      inodes.set(num(r.ino), { mode: num(r.mode), nlink: num(r.nlink), parent: num(r.parent), stored: num(r.stored) });
    }
    const names = new Map<number, { parent: number; name: string }[]>();
    const subdirs = new Map<number, number>();
    for (const r of await c.all('SELECT parent, name, ino, type FROM dentries')) {
      const ino = num(r.ino);
      const parent = num(r.parent);
      const p = inodes.get(parent);
      if (!p) problems.push(`entry ${parent}/${String(r.name)} lies in missing directory ${parent}`);
      else if ((p.mode & S_IFMT) !== S_IFDIR) problems.push(`entry ${parent}/${String(r.name)} lies in inode ${parent}, which is not a directory`);
      const n = inodes.get(ino);
      if (!n) problems.push(`entry ${parent}/${String(r.name)} points at missing inode ${ino}`);
      else if ((n.mode & S_IFMT) !== num(r.type)) problems.push(`entry ${parent}/${String(r.name)} says type ${num(r.type).toString(8)} but inode ${ino} is ${(n.mode & S_IFMT).toString(8)}`);
      names.set(ino, [...(names.get(ino) ?? []), { parent, name: String(r.name) }]);
      if (n && (n.mode & S_IFMT) === S_IFDIR) subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
    }
    const orphans = new Set((await c.all('SELECT ino FROM orphans')).map((r) => num(r.ino)));
    const held = new Set((await c.all('SELECT f.ino FROM open_files f JOIN sessions s ON s.id = f.session')).map((r) => num(r.ino)));
    for (const [ino, n] of inodes) {
      const its = names.get(ino) ?? [];
      if ((n.mode & S_IFMT) === S_IFDIR && its.length === 0 && n.nlink === 0) {
        // Removed while open: an orphan until its last close.
        if (!orphans.has(ino) || !held.has(ino)) problems.push(`removed directory ${ino} is ${orphans.has(ino) ? 'an orphan no live session holds' : 'not an orphan'}`);
        if ([...names.values()].some((l) => l.some((e) => e.parent === ino))) problems.push(`removed directory ${ino} still has entries`);
      } else if ((n.mode & S_IFMT) === S_IFDIR) {
        const want = 2 + (subdirs.get(ino) ?? 0);
        if (n.nlink !== want) problems.push(`directory ${ino}: nlink ${n.nlink}, but 2 + ${subdirs.get(ino) ?? 0} subdirectories = ${want}`);
        if (ino === ROOT_INODE) continue;
        if (its.length !== 1) problems.push(`directory ${ino} has ${its.length} names (a directory has exactly one)`);
        else if (its[0]!.parent !== n.parent) problems.push(`directory ${ino}: its ".." says ${n.parent} but its name is in ${its[0]!.parent}`);
        // It must hang from the root: walk up, at most as many steps as there are inodes.
        let cur = ino;
        for (let hops = 0; cur !== ROOT_INODE && hops <= inodes.size; hops++) cur = inodes.get(cur)?.parent ?? -1;
        if (cur !== ROOT_INODE) problems.push(`directory ${ino} does not lead up to the root (a loop or a missing parent)`);
      } else {
        if (its.length === 0) {
          if (!orphans.has(ino) || !held.has(ino)) problems.push(`inode ${ino} has no name and is ${orphans.has(ino) ? 'an orphan no live session holds' : 'not an orphan'}`);
          if (n.nlink !== 0) problems.push(`inode ${ino} has no name but nlink ${n.nlink}`);
        } else if (n.nlink !== its.length) problems.push(`inode ${ino}: nlink ${n.nlink} but ${its.length} names`);
      }
    }
    // Slices: every use counted in slice_refs, nothing pending is still used.
    const uses = new Map<number, number>();
    const byFile = new Map<number, (Span & { chunk: number })[]>();
    for (const r of await c.all('SELECT ino, chunk, id, pos, len FROM slices ORDER BY ino, chunk, seq')) {
      const ino = num(r.ino);
      if (!inodes.has(ino)) problems.push(`slices of missing inode ${ino}`);
      const id = num(r.id);
      if (id !== 0) uses.set(id, (uses.get(id) ?? 0) + 1);
      byFile.set(ino, [...(byFile.get(ino) ?? []), { chunk: num(r.chunk), id, pos: num(r.pos), len: num(r.len) }]);
    }
    const refs = new Map((await c.all('SELECT id, refs FROM slice_refs')).map((r) => [num(r.id), num(r.refs)]));
    for (const [id, n] of uses) if (refs.get(id) !== n) problems.push(`slice ${id}: used ${n} times but slice_refs says ${refs.get(id) ?? 'nothing'}`);
    for (const [id, n] of refs) if (!uses.has(id)) problems.push(`slice_refs ${id} (${n}) has no slice using it: its objects leak`);
    for (const r of await c.all('SELECT id FROM pending_slices')) if (uses.has(num(r.id))) problems.push(`slice ${num(r.id)} is queued for deletion but still used`);
    // Stored bytes and the counters.
    let used = 0;
    for (const [ino, n] of inodes) {
      if ((n.mode & S_IFMT) !== S_IFREG) continue;
      const holds = dataBytesInChunks(byFile.get(ino) ?? [], CHUNK_SIZE);
      if (holds !== n.stored) problems.push(`file ${ino}: stored ${n.stored} but its slices hold ${holds} bytes`);
      used += Math.ceil(n.stored / 4096) * 4096;
    }
    const counters = new Map((await c.all('SELECT name, value FROM counters')).map((r) => [String(r.name), num(r.value)]));
    if (counters.get('inodes') !== inodes.size) problems.push(`counter inodes = ${counters.get('inodes')} but there are ${inodes.size}`);
    if (counters.get('used_bytes') !== used) problems.push(`counter used_bytes = ${counters.get('used_bytes')} but files take ${used}`);
    for (const r of await c.all('SELECT ino FROM symlinks')) {
      const mode = inodes.get(num(r.ino))?.mode;
      if (mode === undefined || (mode & S_IFMT) !== S_IFLNK) problems.push(`a symlink target for inode ${num(r.ino)}, which is not a symlink`);
    }
    return problems;
  });
}
