// The metadata seam. Every engine (SQLite now, PostgreSQL later) implements Meta and passes the
// shared conformance suite in test/meta/. One call is one transaction; every call that changes
// anything gets the volume's next version and a change-log entry.
//
// Meta enforces structure (ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, sticky-bit deletions, name
// collisions in rename); permissions from uid/gid/mode are the vfs's job.

/** Inode attributes in the shape the vfs hands on (times in ns since the epoch). */
export interface NodeAttr {
  ino: number;
  /** File type bits | permission bits (as st_mode). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  /** Space the file takes in 512-byte units (st_blocks): its stored bytes, rounded up to 4 KiB;
   * holes take none. */
  blocks: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
}

/** What fallocate(2) does to a range: `zero` makes it read as zeros (PUNCH_HOLE, ZERO_RANGE);
 * without `keepSize` the file grows to the range's end. Space is never reserved: data takes
 * space when it is stored. */
export interface FallocateMode {
  zero: boolean;
  keepSize: boolean;
}

export interface NewNode {
  /** Type bits | permission bits. */
  mode: number;
  uid: number;
  gid: number;
  rdev?: number;
}

export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  atimeNs?: bigint;
  mtimeNs?: bigint;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** Type bits of the entry (permission bits may be 0). */
  mode: number;
  /** Cookie that resumes the listing after this entry; never reused within a directory. */
  cookie: number;
}

export interface StatFs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
}

/** Where an imported slice's bytes are: bytes [off, off + the slice's size) of `object` (a key
 * of the volume's storage location, outside the volume's own prefix), in version `etag`. */
export interface ExternalRef {
  object: string;
  off: number;
  etag: string;
}

/** A slice attachObject makes: `size` bytes of an object (ExternalRef) under slice id `id`. */
export interface ExternalPart extends ExternalRef {
  id: number;
  size: number;
}

/** One slice of a chunk, as the data layout defines it (see chunk/store.ts). */
export interface SliceRecord {
  /** 0 for a hole (reads as zeros). */
  id: number;
  /** Bytes stored for the slice. */
  size: number;
  /** Position of the slice's visible bytes in the chunk. */
  pos: number;
  /** Offset of the visible bytes inside the stored slice. */
  off: number;
  len: number;
  /** An imported slice: its bytes are part of an existing object, not blocks of its own. */
  ext?: ExternalRef;
}

export interface VolumeSettings {
  name: string;
  uuid: string;
  /** Storage URL of the volume's objects. */
  storage: string;
  blockSize: number;
  trashDays: number;
  /** Capacity in bytes reported by statfs and enforced on writes; 0 = unlimited. */
  capacity: number;
  /** Maximum number of inodes; 0 = unlimited. */
  inodeLimit: number;
  /** Change-log entries kept (the oldest are dropped beyond this). */
  changelogRetention: number;
  createdMs: number;
  schemaVersion: number;
  /** Credentials for the storage URL, as object/s3-credentials.ts stores them (JSON, or sealed
   * with --encrypt-keys); absent when the store needs none or takes them from elsewhere. */
  storageCredentials?: string;
  /** Set when this engine holds a mirror of a volume (its volume state changes only by replication). */
  mirror?: MirrorSettings;
}

/** A mirror's own bookkeeping (settings rows of its engine only: never logged or dumped). */
export interface MirrorSettings {
  /** The primary's metadata URL, without its password. */
  primary: string;
  /** This mirror's name among the primary's change-log consumers. */
  id: string;
  /** The mirror's own object store; absent when it reads the primary's. */
  storage?: string;
  /** The primary's store as this region reaches it (another endpoint of the same bucket);
   * absent: the primary's storage URL. */
  primaryStorage?: string;
  /** Credentials of `storage`, stored as storageCredentials are. */
  storageCredentials?: string;
  /** Every block of the versions up to this one is in the mirror's own store. */
  copiedVersion: number;
  /** Slices that existed when the mirror was loaded (ids up to `backfillTo`) have their blocks
   * copied up to this id: the backfill of what the log never names. */
  backfilledSlice: number;
  backfillTo: number;
}

/** Fields left undefined keep an existing volume's value (and take the default for a new one). */
export interface FormatRequest {
  name: string;
  storage: string;
  blockSize?: number;
  trashDays?: number;
  capacity?: number;
  inodeLimit?: number;
  storageCredentials?: string;
}

/** Settings an existing volume may change. */
export type SettingsChange = Partial<Pick<VolumeSettings, 'trashDays' | 'capacity' | 'inodeLimit' | 'changelogRetention' | 'storage' | 'storageCredentials'>>;

/** A member of a cache group as registered in metadata. */
export interface GroupMember {
  /** Random, chosen by the member when it starts. */
  id: string;
  /** host:port its peers reach it at. */
  address: string;
  /** Its share of the block keys, relative to the other members'. */
  weight: number;
  /** It asks the group to keep a second copy of every block. */
  backup: boolean;
  startedMs: number;
  heartbeatMs: number;
}

export interface SessionRecord {
  id: number;
  info: Record<string, unknown>;
  startedMs: number;
  heartbeatMs: number;
}

export interface Usage {
  /** Bytes of file data stored (each file's stored bytes rounded up to 4 KiB; holes are free). */
  usedBytes: number;
  inodes: number;
  /** Slices waiting for their objects to be deleted. */
  pendingSlices: number;
}

/** One row-level change inside a version: enough for another engine to replay it exactly. */
export interface ChangeRow {
  table: string;
  kind: 'put' | 'delete';
  row: Record<string, unknown>;
}

export interface ChangeEntry {
  version: number;
  op: string;
  timeMs: number;
  rows: ChangeRow[];
}

/** A bucket event notification queued for delivery to one target, in the same transaction as the
 * change it describes (or alone). */
export interface QueuedEvent {
  /** The notification target's id. */
  target: string;
  /** What delivery keeps in order: the object's "bucket/key" (the bucket's name for bucket events). */
  key: string;
  /** The S3 event record, JSON, without its sequencer (the queue's seq becomes it). */
  body: string;
}

/** Ends the op of a change-log entry whose transaction queued its own event notifications (a
 * reader deriving events from the log skips it). */
export const EVENTS_QUEUED_MARK = '+events';

/** An event waiting in the queue. */
export interface PendingEvent extends QueuedEvent {
  /** Increases with every event queued: the order of delivery and the record's sequencer. */
  seq: number;
  createdMs: number;
}

/** One notification target's queue and totals (Meta.eventStats). */
export interface EventTargetStats {
  target: string;
  /** Events waiting. */
  depth: number;
  /** When the oldest waiting event was queued (null: none waiting). */
  oldestMs: number | null;
  delivered: number;
  /** Delivery attempts that failed. */
  failed: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Which gateway delivers for the target, until when (ms since the epoch). */
  holder: string;
  untilMs: number;
}

/** A change-log consumer's step, taken in the same transaction as the events derived from it. */
export interface ConsumerStep {
  consumer: string;
  /** The position the consumer must still be at (otherwise another reader took the step). */
  from: number;
  to: number;
}

/** More that createFile sets in the same transaction. */
export interface CreateExtras {
  /** Event notifications queued with the new file. */
  events?: readonly QueuedEvent[];
  /** Extended attributes of the new file. */
  xattrs?: Record<string, Uint8Array>;
  /** atime, mtime, ctime and birth time (ns), instead of the commit's clock (so a caller can
   * record them elsewhere in the same transaction, e.g. in an xattr). */
  timeNs?: bigint;
}

/** One range of `Meta.cloneRanges`: [srcOffset, srcOffset+length) of file `src` becomes
 * [dstOffset, dstOffset+length) of the destination. */
export interface CloneRange {
  src: number;
  srcOffset: number;
  dstOffset: number;
  length: number;
}

export type LockKind = 'read' | 'write' | 'unlock';

/** A POSIX byte-range lock; `end` is exclusive, -1 = to the end of the file. */
export interface RangeLock {
  kind: LockKind;
  start: number;
  end: number;
  pid: number;
}

export interface KnownSlice {
  id: number;
  size: number;
  refs: number;
  /** When its last reference went (ms since the epoch); null while referenced. */
  pendingSinceMs: number | null;
}

/** Something fsck's whole-volume check found in the metadata (Meta.checkVolume). */
export interface VolumeProblem {
  /** link-count: an inode's nlink is not the names (files) or 2 + subdirectories (directories) it
   * has; counter: a volume counter (used_bytes, inodes) is not what the inodes add up to; orphan:
   * an inode no name reaches that is not kept for a session that has it open; stale-orphan: an
   * orphan record of an inode that has a name (or no row); dangling: an entry whose inode is gone. */
  kind: 'link-count' | 'counter' | 'orphan' | 'stale-orphan' | 'dangling';
  ino?: number;
  /** The counter's name; for dangling (an entry naming an inode that does not exist), the entry's. */
  name?: string;
  /** For dangling: the directory holding the entry. */
  parent?: number;
  recorded: number;
  actual: number;
  /** Fixed by this call (with repair). */
  repaired: boolean;
}

export interface TrashEntry {
  /** Name inside the trash directory (`HOUR/parent-ino-name`). */
  path: string;
  ino: number;
  /** Where it was: directory inode and name. */
  parent: number;
  name: string;
  deletedMs: number;
  size: number;
  isDir: boolean;
}

export interface Meta {
  /** The URL the engine was opened with (credentials redacted). */
  readonly url: string;
  /** Name of the trash directory under the root. */
  readonly trashName: string;

  settings(): Promise<VolumeSettings>;
  /** Change allowed settings; returns human-readable descriptions of what changed. */
  configure(change: SettingsChange): Promise<string[]>;

  // ---- namespace ----
  getattr(ino: number): Promise<NodeAttr>;
  lookup(dir: number, name: string): Promise<NodeAttr>;
  /** One read for a path walk: the attributes of `dir`, then of each of `names` in turn, stopping
   * at the first name that does not exist (or that is not inside a directory). */
  lookupPath(dir: number, names: string[]): Promise<NodeAttr[]>;
  setattr(ino: number, changes: AttrChanges): Promise<NodeAttr>;
  /** Set a regular file's length; bytes beyond a shrink read as zeros if the file grows again.
   * `also` applies attribute changes in the same transaction (a truncate that drops setuid). */
  truncate(ino: number, size: number, also?: AttrChanges): Promise<NodeAttr>;
  /** Make [offset, offset+length) of a regular file read as zeros (punch hole, keep size). */
  punchHole(ino: number, offset: number, length: number): Promise<NodeAttr>;
  /** fallocate(2) on a regular file, in one transaction (see FallocateMode). */
  fallocate(ino: number, offset: number, length: number, how: FallocateMode): Promise<NodeAttr>;
  /** With `openedBy`, that session also holds the new file open (one transaction for open(O_CREAT)). */
  mknod(dir: number, name: string, node: NewNode, openedBy?: number): Promise<NodeAttr>;
  /**
   * Create regular file `name` in `dir` already holding `content`: one stored slice of
   * `content.size` bytes (at most one chunk) at offset 0, or nothing when null. Creation and
   * content commit in one transaction, so nobody sees the file empty. EEXIST when the name is
   * taken; on any failure the slice is queued for deletion, as commitSlice does.
   */
  createFile(dir: number, name: string, node: NewNode, content: { id: number; size: number } | null, extras?: CreateExtras): Promise<NodeAttr>;
  /** `events`, here and on unlink, rmdir, rename, setxattr and removexattr: notifications queued
   * in the same transaction, so a change is never committed without them. */
  mkdir(dir: number, name: string, node: NewNode, events?: readonly QueuedEvent[]): Promise<NodeAttr>;
  symlink(dir: number, name: string, target: string, node: NewNode): Promise<NodeAttr>;
  readlink(ino: number): Promise<string>;
  link(ino: number, dir: number, name: string): Promise<NodeAttr>;
  /** `uid` is the caller's, for the sticky-bit check made inside the transaction. With
   * `skipTrash` false and trash enabled, a file losing its last name moves to the trash. */
  unlink(dir: number, name: string, uid: number, skipTrash?: boolean, events?: readonly QueuedEvent[]): Promise<void>;
  rmdir(dir: number, name: string, uid: number, events?: readonly QueuedEvent[]): Promise<void>;
  /** renameat2(2): flags RENAME_NOREPLACE (1), RENAME_EXCHANGE (2). */
  rename(dir: number, name: string, newDir: number, newName: string, flags: number, uid: number, events?: readonly QueuedEvent[]): Promise<void>;
  /** One path from the root to `ino` ("/a/b"), following the first name found at each step; null
   * when no name reaches it. */
  pathOf(ino: number): Promise<string | null>;
  readdir(ino: number, cookie: number, limit: number): Promise<DirEntry[]>;

  getxattr(ino: number, name: string): Promise<Uint8Array>;
  /** flags: XATTR_CREATE (1), XATTR_REPLACE (2). */
  setxattr(ino: number, name: string, value: Uint8Array, flags: number, events?: readonly QueuedEvent[]): Promise<void>;
  listxattr(ino: number): Promise<string[]>;
  removexattr(ino: number, name: string, events?: readonly QueuedEvent[]): Promise<void>;
  statfs(): Promise<StatFs>;
  usage(): Promise<Usage>;

  // ---- data layout ----
  /** The slices of one chunk of a file, in append order (oldest first). */
  readChunk(inode: number, chunkIndex: number): Promise<SliceRecord[]>;
  /** Every chunk of a file that has slices, in index order. */
  chunks(inode: number): Promise<{ index: number; slices: SliceRecord[] }[]>;
  /** A fresh slice id (never reused, never 0); allocated from a batch reserved by this client. */
  newSliceId(): Promise<number>;
  /** Append a stored slice to a chunk; the file's length becomes at least `fileEnd`. A failed
   * commit leaves the slice to its writer, which may commit it again or abandon it; a slice
   * already queued for deletion is refused with EIO (its objects may be gone). `then`: attribute
   * changes made after the slice's bytes were written (chmod, chown, utimes held back by the
   * writer's client), applied after it in the same transaction. */
  commitSlice(inode: number, chunkIndex: number, slice: SliceRecord, fileEnd: number, then?: AttrChanges): Promise<void>;
  /** Place a stored slice (all `size` bytes of it) at the file's end as it is when this commits
   * (O_APPEND across processes); it may span two chunks. Returns the offset it landed at. `then`
   * as for commitSlice. */
  appendSlice(inode: number, slice: { id: number; size: number }, then?: AttrChanges): Promise<number>;
  /** Make each range of `dst` read as its source range by referencing the same stored slices
   * (reflink: no data is copied, each slice gains references). All ranges apply in one
   * transaction, sources read as they were before it; bytes of `dst` a range covers are replaced
   * (holes in the source read as zeros there too). `dst`'s length becomes at least the end of
   * every range. Sources and `dst` must be regular files; a range past its source's end is EINVAL. */
  cloneRanges(dst: number, ranges: readonly CloneRange[]): Promise<NodeAttr>;
  /** Compaction's swap: if chunk `chunkIndex` of `inode` still begins with exactly `replaced` (its
   * oldest slices, as readChunk listed them), those are replaced by `replacement` — the pieces of
   * one stored slice showing the same bytes — and slices appended after them stay on top.
   * Attributes do not change. Returns the slices whose last reference went (queued for deletion),
   * or null when the chunk changed meanwhile (nothing is changed then; the caller abandons its
   * slice). */
  compactChunk(inode: number, chunkIndex: number, replaced: readonly SliceRecord[], replacement: readonly SliceRecord[]): Promise<{ id: number; size: number }[] | null>;
  /** Make an empty regular file hold `parts`, one after the other from offset 0 (import's link
   * mode): each an imported slice (ExternalRef) with a fresh id, in one transaction. EINVAL when
   * the file is not empty. When its last reference goes, an imported slice's row goes; the
   * object itself is never deleted. */
  attachObject(ino: number, parts: readonly ExternalPart[]): Promise<NodeAttr>;
  /** A stored slice that its writer will never commit: queued for deletion unless something
   * references it. */
  abandonSlice(slice: { id: number; size: number }): Promise<void>;
  /** Slices whose last reference is gone, oldest first: their objects may be deleted. */
  pendingSliceDeletes(limit: number): Promise<{ id: number; size: number }[]>;
  /** The objects of these slices are gone: forget them. */
  confirmSliceDeletes(ids: number[]): Promise<void>;
  /** Every slice the volume knows with an id above `afterId`, by id, at most `limit`: referenced
   * ones (refs > 0, pendingSinceMs null) and ones waiting for their objects' deletion (refs 0).
   * A stored block whose slice is not here was never committed (gc); a referenced slice's blocks
   * must all exist (fsck). */
  knownSlices(afterId: number, limit: number): Promise<KnownSlice[]>;

  /** Check link counts, the used-space and inode counters, and orphaned inodes against the
   * volume's rows. With `repair`, each problem is fixed in a transaction of its own that checks it
   * again first (what changed meanwhile is left alone): counts and counters are set to what the
   * rows say; an orphan a session keeps open is recorded as one, one with no link left is freed
   * as an unlink frees a file, one still linked by its count is given the name
   * /lost+found/#INODE; stale orphan records and dangling entries are removed. */
  checkVolume(repair: boolean): Promise<VolumeProblem[]>;

  // ---- sessions and open files ----
  newSession(info: Record<string, unknown>): Promise<number>;
  heartbeat(session: number): Promise<void>;
  /** End a session: its locks are released and files it alone kept open are freed. */
  closeSession(session: number): Promise<void>;
  sessions(): Promise<SessionRecord[]>;
  /** Close sessions whose last heartbeat is older than `staleMs`; returns how many. */
  cleanStaleSessions(staleMs: number): Promise<number>;
  /** A session opened the inode (keeps an unlinked file's data alive until released). */
  opened(session: number, ino: number): Promise<void>;
  /** The session let go of the inode(s) — several at once in one transaction. */
  released(session: number, ino: number | readonly number[]): Promise<void>;

  // ---- locks (non-blocking: a conflict is EAGAIN; callers that wait poll) ----
  /** flock(2): kind 'read' = LOCK_SH, 'write' = LOCK_EX, 'unlock' = LOCK_UN. */
  flock(ino: number, session: number, owner: string, kind: LockKind): Promise<void>;
  /** F_GETLK: the first lock of another owner that conflicts with `lock`, or null. */
  getlk(ino: number, session: number, owner: string, lock: RangeLock): Promise<(RangeLock & { session: number; owner: string }) | null>;
  /** F_SETLK: set, change or remove (kind 'unlock') an owner's byte-range lock. */
  setlk(ino: number, session: number, owner: string, lock: RangeLock): Promise<void>;

  // ---- versions and change log ----
  version(): Promise<number>;
  /** Calls `listener` with the version and rows of each change this client commits, right after
   * the commit and before the call that made it returns. Returns a function that stops it.
   * Optional: without it, a reader of the change log takes every entry for another client's. */
  watchOwnCommits?(listener: (version: number, rows: readonly ChangeRow[]) => void): () => void;
  /** Change-log entries after `version`, oldest first. ESTALE ("resync needed") when the log no
   * longer holds the version right after `afterVersion`. */
  changes(afterVersion: number, limit: number): Promise<ChangeEntry[]>;
  /** A reader of the change log (a mirror) that pruning must wait for: it has applied up to
   * `applied`. Registering again moves its position. */
  registerConsumer(name: string, applied: number): Promise<void>;
  dropConsumer(name: string): Promise<void>;
  consumers(): Promise<{ name: string; applied: number }[]>;
  /** Oldest version still in the change log (0 when empty). */
  oldestVersion(): Promise<number>;

  // ---- event notifications (rows of this engine only: never logged, dumped or replicated) ----
  /** Queue events on their own (reads, tags). With `step`, the consumer moves in the same
   * transaction; false, and nothing queued, when it is no longer at `step.from`. */
  queueEvents(events: readonly QueuedEvent[], step?: ConsumerStep): Promise<boolean>;
  /** The oldest `limit` events of `target`, if `holder` holds the target's delivery lease or takes
   * it (free, or lapsed): it is held for `leaseMs` more. null: another holder has it. */
  claimEvents(target: string, holder: string, leaseMs: number, limit: number): Promise<PendingEvent[] | null>;
  /** Delivery's outcome: `delivered` events leave the queue and count; `failed` attempts count. */
  settleEvents(target: string, delivered: readonly number[], failed: number): Promise<void>;
  /** Drop the oldest events of `target` beyond `max`, counting them; returns how many. */
  trimEvents(target: string, max: number): Promise<number>;
  /** Every target that has queued events or a delivery record, by name. */
  eventStats(): Promise<EventTargetStats[]>;

  // ---- cache groups (rows of this engine only: never logged, dumped or replicated) ----
  /** Register member `m` of cache group `group`, or refresh its registration; its heartbeat is now. */
  groupBeat(group: string, m: Omit<GroupMember, 'heartbeatMs'>): Promise<void>;
  /** The members registered in `group`, live or not (heartbeatMs tells). */
  groupMembers(group: string): Promise<GroupMember[]>;
  groupLeave(group: string, id: string): Promise<void>;
  /** The groups that have members registered (live or not), by name. */
  groupNames(): Promise<string[]>;
  /** The group's secret as stored; `fresh` is stored first when there is none yet (so every
   * member that asks gets the same one). */
  groupSecret(group: string, fresh: string): Promise<string>;

  // ---- trash ----
  listTrash(): Promise<TrashEntry[]>;
  /** Put a trashed entry back where it was; EEXIST if that name is taken, ENOENT if the parent is gone. */
  restoreTrash(path: string): Promise<void>;
  /** Remove trash entries deleted more than `olderThanMs` ago (0 = all); returns how many. */
  emptyTrash(olderThanMs: number): Promise<number>;

  close(): Promise<void>;
}

/** Files are cut into chunks of this many bytes; a slice's position is inside its chunk. */
export const CHUNK_SIZE = 64 * 1024 * 1024;

export const ROOT_INODE = 1;
export const TRASH_INODE = 2;
export const TRASH_NAME = '.trash';
