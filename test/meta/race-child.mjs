// One racing client: random renames (plain, NOREPLACE, EXCHANGE), links, unlinks, creates, mkdirs
// and rmdirs on a small shared tree, through its own engine (a separate process, like a host).
// argv: META_URL SEED OPS. Prints {"ok": n, "errors": {code: n}}; any error outside what POSIX
// allows those calls to give is printed as {"bad": ...} and exits 1.
import { openMeta } from '../../dist/src/meta/index.js';

const [url, seedText, opsText] = process.argv.slice(2);
// mulberry32: small, seedable, and exact in JS numbers.
let seed = Number(seedText) >>> 0;
const rand = (n) => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (((t ^ (t >>> 14)) >>> 0) % n);
};
const ALLOWED = new Set(['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'EINVAL', 'EPERM']);
const meta = await openMeta(url);
const root = (await meta.lookup(1, 'race')).ino;
const dirs = async () => {
  const out = [root];
  for (const d of ['d1', 'd2', 'd3']) {
    const a = await meta.lookup(root, d).catch(() => null);
    if (a && (a.mode & 0o170000) === 0o040000) out.push(a.ino);
  }
  return out;
};
const names = ['a', 'b', 'c', 'd', 'd1', 'd2', 'd3'];
const pick = (xs) => xs[rand(xs.length)];
const errors = {};
let ok = 0;
for (let i = 0; i < Number(opsText); i++) {
  const ds = await dirs();
  const dir = pick(ds);
  const name = pick(names);
  try {
    switch (rand(8)) {
      case 0: await meta.mknod(dir, name, { mode: 0o100644, uid: 0, gid: 0 }); break;
      case 1: await meta.mkdir(dir, name, { mode: 0o040755, uid: 0, gid: 0 }); break;
      case 2: await meta.unlink(dir, name, 0); break;
      case 3: await meta.rmdir(dir, name, 0); break;
      case 4: {
        const src = await meta.lookup(dir, name);
        await meta.link(src.ino, pick(ds), pick(names));
        break;
      }
      default: await meta.rename(dir, name, pick(ds), pick(names), pick([0, 0, 1, 2]), 0);
    }
    ok++;
  } catch (err) {
    if (!ALLOWED.has(err.code)) {
      console.log(JSON.stringify({ bad: `${err.code}: ${err.message}` }));
      process.exit(1);
    }
    errors[err.code] = (errors[err.code] ?? 0) + 1;
  }
}
await meta.close();
console.log(JSON.stringify({ ok, errors }));
