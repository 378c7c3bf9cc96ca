// Child process for sigkill.test.ts: opens a volume with the BUILT SDK and mutates files until it
// is killed. Protocol (one line each on stdout):
//   READY <pid> <session>        the volume is open
//   BIG <path>                   a multi-block write is about to start
//   SYNCING <path>               FileHandle.sync() (or close) is about to start
//   SYNCED <path> <sha256> <len> the file's content is committed; it is never touched again
//   ORPHAN <path>                an unlinked file is held open (its data committed)
//   FAIL <message>               the SDK disagreed with the child's model (a bug, not a crash)
// Usage: node writer-child.mjs META_URL PREFIX SEED
import { createHash, randomBytes } from 'node:crypto';

const { Volume } = await import(new URL('../../dist/src/index.js', import.meta.url).href);

const [metaUrl, prefix, seedArg] = process.argv.slice(2);
if (!metaUrl || !prefix) {
  process.stderr.write('usage: writer-child.mjs META_URL PREFIX SEED\n');
  process.exit(2);
}

const BS = 64 * 1024;
let seed = Number(seedArg ?? 1) >>> 0 || 1;
/** xorshift32: the sequence of operations is reproducible from the seed (the bytes are not). */
function rand() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 0x100000000;
}
const pick = (n) => Math.floor(rand() * n);
const say = (line) => process.stdout.write(`${line}\n`);
const sha = (buf) => createHash('sha256').update(buf).digest('hex');

// Never outlive a parent that forgot us.
setTimeout(() => process.exit(3), 60_000).unref();

const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
say(`READY ${process.pid} ${vol.vfs.session}`);

/** The model of one file: what its bytes must be once everything written is committed. */
class Model {
  constructor() { this.buf = Buffer.alloc(0); }
  write(pos, data) {
    const end = pos + data.length;
    if (end > this.buf.length) {
      const grown = Buffer.alloc(end);
      this.buf.copy(grown);
      this.buf = grown;
    }
    data.copy(this.buf, pos);
  }
  truncate(n) {
    if (n <= this.buf.length) this.buf = Buffer.from(this.buf.subarray(0, n));
    else { const grown = Buffer.alloc(n); this.buf.copy(grown); this.buf = grown; }
  }
}

/** Handles deliberately left open (their files must survive the crash as they were committed). */
const leftOpen = [];
/** Files with uncommitted or unsynced state, candidates for unlink. */
const scratch = [];
let n = 0;

async function mutate(fh, path, model, ops) {
  for (let i = 0; i < ops; i++) {
    const r = rand();
    const len = model.buf.length;
    if (r < 0.3) {
      // Large write crossing block boundaries, at the end or overlapping existing bytes.
      const size = BS * (2 + pick(4)) + pick(BS);
      const pos = rand() < 0.5 ? len : pick(len + 1);
      const data = randomBytes(size);
      say(`BIG ${path}`);
      await fh.write(data, 0, data.length, pos);
      model.write(pos, data);
    } else if (r < 0.55) {
      // Small overwrite inside the file (or an extension if the file is empty).
      const size = 1 + pick(3000);
      const pos = pick(len + 1);
      const data = randomBytes(size);
      await fh.write(data, 0, data.length, pos);
      model.write(pos, data);
    } else if (r < 0.7) {
      // Write past the end: a hole that must read as zeros.
      const data = randomBytes(1 + pick(2 * BS));
      const pos = len + pick(3 * BS);
      await fh.write(data, 0, data.length, pos);
      model.write(pos, data);
    } else if (r < 0.85) {
      // Shrink (often into the middle of a block) or grow by truncation.
      const size = rand() < 0.7 ? pick(len + 1) : len + pick(BS);
      await fh.truncate(size);
      model.truncate(size);
    } else {
      // Flush without claiming anything: other slices get committed mid-file.
      await fh.datasync();
    }
  }
}

async function syncedFile() {
  const path = `/${prefix}-s${n++}`;
  const fh = await vol.open(path, 'w+');
  const model = new Model();
  await mutate(fh, path, model, 2 + pick(5));
  say(`SYNCING ${path}`);
  const viaClose = rand() < 0.3;
  if (viaClose) await fh.close();
  else await fh.sync();
  // Read-your-writes in this process: the claim below must match what the SDK returns.
  const back = await vol.readFile(path);
  if (!back.equals(model.buf)) {
    say(`FAIL ${path}: read back ${back.length} bytes (sha ${sha(back)}) but wrote ${model.buf.length} (sha ${sha(model.buf)})`);
    return;
  }
  say(`SYNCED ${path} ${sha(model.buf)} ${model.buf.length}`);
  if (!viaClose) {
    if (rand() < 0.5) await fh.close();
    else leftOpen.push(fh);
  }
}

async function scratchWork() {
  const r = rand();
  if (r < 0.45 || scratch.length === 0) {
    // A file written but never synced: left dirty in the write buffer or half-committed.
    const path = `/${prefix}-t${n++}`;
    const fh = await vol.open(path, 'w+');
    const model = new Model();
    await mutate(fh, path, model, 1 + pick(4));
    scratch.push({ path, fh });
  } else if (r < 0.75) {
    // Unlink a scratch file; sometimes its handle stays open (an orphan the session keeps alive).
    const { path, fh } = scratch.splice(pick(scratch.length), 1)[0];
    if (rand() < 0.5) await fh.close();
    await vol.unlink(path);
    if (fh.fd >= 0) {
      // Keep writing to the unlinked file: data of a nameless inode.
      const data = randomBytes(BS + pick(BS));
      say(`BIG ${path} (unlinked)`);
      await fh.write(data, 0, data.length, 0);
      leftOpen.push(fh);
    }
  } else {
    // Overwrite a whole scratch file via writeFile (O_TRUNC: old slices lose their references).
    const { path } = scratch[pick(scratch.length)];
    const data = randomBytes(pick(4 * BS));
    say(`BIG ${path} (writeFile)`);
    await vol.writeFile(path, data);
  }
}

try {
  // First an unlinked file this session keeps open: after the crash only cleaning the dead
  // session can free it.
  {
    const path = `/${prefix}-orphan`;
    const fh = await vol.open(path, 'w+');
    const data = randomBytes(2 * BS + 123);
    await fh.write(data, 0, data.length, 0);
    await fh.sync();
    await vol.unlink(path);
    leftOpen.push(fh);
    say(`ORPHAN ${path}`);
  }
  for (;;) {
    if (rand() < 0.5) await syncedFile();
    else await scratchWork();
  }
} catch (err) {
  say(`FAIL ${err && err.stack ? err.stack.replace(/\n/g, ' | ') : String(err)}`);
  process.exit(1);
}
