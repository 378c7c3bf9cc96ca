// POSIX behaviour on a real mount, compared with the same steps on a local directory: the kernel
// and real tools are the reference. The mount runs in its own process (`strata mount`), so this
// process may use any fs call on it.
import { createHash, randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/config/urls.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { need } from '../helpers/require.js';
import { CLI, isMounted, makeMount, run, useEngine, type TestMount } from './mounted.js';
import { engineNeed, type Engine } from '../helpers/engines.js';

const fuse = need('FUSE', fuseUnavailable());

let m: TestMount;
let ref: string;

/** Run the same steps on the mount and on the reference directory; their results must agree. */
async function both<T>(steps: (root: string) => Promise<T>): Promise<{ mnt: T | string; ref: T | string }> {
  const outcome = async (root: string) => steps(root).catch((err: { code?: string; message?: string }) => `error ${err.code ?? err.message}`);
  return { mnt: await outcome(m.mountpoint), ref: await outcome(ref) };
}

async function treeDigest(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = (await fs.readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const st = await fs.lstat(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (e.isDirectory()) {
        out.push(`d ${p} ${mode}`);
        await walk(p);
      } else if (e.isSymbolicLink()) {
        out.push(`l ${p} -> ${await fs.readlink(join(root, p))}`);
      } else if (e.isFile()) {
        const h = createHash('sha256').update(await fs.readFile(join(root, p))).digest('hex').slice(0, 16);
        out.push(`f ${p} ${mode} ${st.size} ${h} nlink=${st.nlink}`);
      } else {
        out.push(`o ${p} ${mode}`);
      }
    }
  };
  await walk('');
  return out;
}

/** The suite on metadata engine `engine` (each test file runs it on one). */
export function posixSuite(engine: Engine): void {
  const metadata = engineNeed(engine);
  useEngine(engine);

  describe.skipIf(fuse.skip || metadata.skip)(`${engine}: a mounted volume behaves like a local directory`, () => {
    beforeAll(() => {
      fuse.check();
      metadata.check();
    });
    beforeAll(async () => {
      m = await makeMount(['--attr-cache', '1', '--entry-cache', '1', '--allow-other']);
      ref = join(m.dir, 'ref');
      await fs.mkdir(ref);
      // Other users must be able to reach both trees (mkdtemp makes the parent 0700).
      await fs.chmod(m.dir, 0o755);
    }, 60_000);

    afterAll(async () => {
      if (m) {
        const code = await m.stop();
        expect(code, m.log()).toBe(0);
        expect(await isMounted(m.mountpoint)).toBe(false);
        await m.cleanup();
      }
    }, 60_000);

    it('reads and writes at offsets, O_APPEND, O_EXCL, O_TRUNC, truncate both ways', async () => {
      const r = await both(async (root) => {
        const p = join(root, 'rw');
        const h = await fs.open(p, 'w+');
        await h.write(Buffer.from('hello world'), 0, 11, 0);
        await h.write(Buffer.from('HELLO'), 0, 5, 6);
        await h.write(Buffer.from('far'), 0, 3, 100_000);
        await h.close();
        await fs.appendFile(p, 'tail');
        const excl = await fs.open(p, 'wx').then(() => 'opened', (e: { code: string }) => e.code);
        await fs.truncate(p, 50);
        const cut = await fs.readFile(p);
        await fs.truncate(p, 70_000);
        const grown = await fs.readFile(p);
        await fs.writeFile(p, 'new', { flag: 'w' });
        return { excl, cut: cut.toString('hex'), grown: createHash('sha1').update(grown).digest('hex'), end: await fs.readFile(p, 'utf8'), size: (await fs.stat(p)).size };
      });
      expect(r.mnt).toEqual(r.ref);
    });

    it('offsets beyond 4 GiB and sparse files', async () => {
      const r = await both(async (root) => {
        const p = join(root, 'sparse');
        const h = await fs.open(p, 'w+');
        await h.write(Buffer.from('x'), 0, 1, 5 * 1024 ** 3 + 3);
        const buf = Buffer.alloc(8);
        await h.read(buf, 0, 8, 5 * 1024 ** 3 - 4);
        await h.close();
        return { size: (await fs.stat(p)).size, buf: buf.toString('hex') };
      });
      expect(r.mnt).toEqual(r.ref);
    });

    it('rename (replace, into another directory, directory into its own subtree), links and symlinks', async () => {
      const r = await both(async (root) => {
        const d = join(root, 'names');
        await fs.mkdir(join(d, 'a', 'sub'), { recursive: true });
        await fs.writeFile(join(d, 'f'), 'one');
        await fs.writeFile(join(d, 'g'), 'two');
        await fs.rename(join(d, 'f'), join(d, 'g'));
        await fs.rename(join(d, 'g'), join(d, 'a', 'h'));
        const intoSelf = await fs.rename(join(d, 'a'), join(d, 'a', 'sub', 'x')).then(() => 'ok', (e: { code: string }) => e.code);
        await fs.link(join(d, 'a', 'h'), join(d, 'hard'));
        await fs.symlink('a/h', join(d, 'soft'));
        const notEmpty = await fs.rmdir(join(d, 'a')).then(() => 'ok', (e: { code: string }) => e.code);
        return {
          intoSelf, notEmpty,
          nlink: (await fs.stat(join(d, 'hard'))).nlink,
          soft: await fs.readFile(join(d, 'soft'), 'utf8'),
          link: await fs.readlink(join(d, 'soft')),
          list: (await fs.readdir(d)).sort(),
        };
      });
      expect(r.mnt).toEqual(r.ref);
    });

    it('RENAME_NOREPLACE and RENAME_EXCHANGE (renameat2)', async () => {
      const renameat2 = (root: string, a: string, b: string, flags: number) => run('python3', ['-c', [
        'import ctypes, os, sys',
        'libc = ctypes.CDLL(None, use_errno=True)',
        `r = libc.syscall(316, -100, ${JSON.stringify(join(root, a))}.encode(), -100, ${JSON.stringify(join(root, b))}.encode(), ${flags})`,
        'print(0 if r == 0 else os.strerror(ctypes.get_errno()))',
      ].join('\n')]).then((o) => o.stdout.trim());
      const r = await both(async (root) => {
        await fs.writeFile(join(root, 'ra'), 'A');
        await fs.writeFile(join(root, 'rb'), 'B');
        const noreplace = await renameat2(root, 'ra', 'rb', 1);
        const exchange = await renameat2(root, 'ra', 'rb', 2);
        return { noreplace, exchange, a: await fs.readFile(join(root, 'ra'), 'utf8'), b: await fs.readFile(join(root, 'rb'), 'utf8') };
      });
      expect(r.mnt).toEqual(r.ref);
    });

    it('modes, ownership, nanosecond times, xattrs, fifos and device nodes', async () => {
      const r = await both(async (root) => {
        const p = join(root, 'meta');
        await fs.writeFile(p, 'x');
        await fs.chmod(p, 0o640);
        await fs.chown(p, 1234, 5678);
        await fs.utimes(p, 1_600_000_000.123456, 1_500_000_000.987654);
        const st = await fs.stat(p, { bigint: true });
        await run('setfattr', ['-n', 'user.colour', '-v', 'blue', p]);
        const xattr = (await run('getfattr', ['--only-values', '-n', 'user.colour', p])).stdout;
        await run('mkfifo', [join(root, 'fifo')]);
        await run('mknod', [join(root, 'null'), 'c', '1', '3']);
        const fifo = await fs.lstat(join(root, 'fifo'));
        const dev = await fs.lstat(join(root, 'null'));
        return {
          mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
          mtimeUs: String(st.mtimeNs / 1000n), atimeUs: String(st.atimeNs / 1000n), xattr,
          fifo: fifo.isFIFO(), dev: dev.isCharacterDevice(), rdev: dev.rdev,
        };
      });
      expect(r.mnt).toEqual(r.ref);
    });

    it('statfs works (df)', async () => {
      const { stdout } = await run('df', ['-P', m.mountpoint]);
      expect(stdout).toMatch(/strata/);
      const st = await fs.statfs(m.mountpoint);
      expect(st.blocks).toBeGreaterThan(0);
      expect(st.bsize).toBeGreaterThan(0);
    });

    it('a 64 MiB file written and read back byte for byte, and fsync', async () => {
      const data = randomBytes(64 * 1024 * 1024);
      const p = join(m.mountpoint, 'big');
      const h = await fs.open(p, 'w');
      await h.write(data);
      await h.sync();
      await h.close();
      const back = await fs.readFile(p);
      expect(back.length).toBe(data.length);
      expect(back.equals(data)).toBe(true);
    });

    it('permission checks for other users (EACCES, sticky bit) through child processes', async () => {
      const asNobody = (script: string) => run(process.execPath, ['-e', script], { uid: 65534, gid: 65534 })
        .then((o) => o.stdout.trim(), (e: { stdout?: string; stderr?: string }) => `fail ${e.stdout ?? ''} ${e.stderr ?? ''}`);
      const r = await both(async (root) => {
        const d = join(root, 'perm');
        await fs.mkdir(d);
        await fs.chmod(d, 0o1777);
        await fs.writeFile(join(d, 'private'), 'secret');
        await fs.chmod(join(d, 'private'), 0o600);
        await fs.writeFile(join(d, 'mine'), 'root');
        await fs.chmod(join(d, 'mine'), 0o666);
        const script = `const fs=require('fs');const o=[];
          try{fs.readFileSync(${JSON.stringify(join(d, 'private'))});o.push('read')}catch(e){o.push(e.code)}
          try{fs.unlinkSync(${JSON.stringify(join(d, 'mine'))});o.push('unlinked')}catch(e){o.push(e.code)}
          try{fs.writeFileSync(${JSON.stringify(join(d, 'own'))},'n');fs.unlinkSync(${JSON.stringify(join(d, 'own'))});o.push('own ok')}catch(e){o.push(e.code)}
          console.log(o.join(','))`;
        return asNobody(script);
      });
      expect(r.mnt).toEqual(r.ref);
      expect(r.mnt).toBe('EACCES,EPERM,own ok');
    });

    it('tar x, cp -a and git clone + fsck give the same trees as on local disk', async () => {
      const root = process.cwd();
      const tarball = join(m.dir, 'src.tar');
      await run('tar', ['cf', tarball, '-C', root, 'src', 'package.json']);
      for (const base of [m.mountpoint, ref]) {
        await fs.mkdir(join(base, 'tarx'));
        await run('tar', ['xf', tarball, '-C', join(base, 'tarx')]);
        await run('cp', ['-a', join(base, 'tarx'), join(base, 'cpa')]);
      }
      expect(await treeDigest(join(m.mountpoint, 'tarx'))).toEqual(await treeDigest(join(ref, 'tarx')));
      expect(await treeDigest(join(m.mountpoint, 'cpa'))).toEqual(await treeDigest(join(ref, 'cpa')));
      if (existsSync(join(root, '.git'))) {
        await run('git', ['clone', '-q', root, join(m.mountpoint, 'repo')]);
        await run('git', ['-C', join(m.mountpoint, 'repo'), 'fsck', '--full']);
        const { stdout } = await run('git', ['-C', join(m.mountpoint, 'repo'), 'status', '--porcelain']);
        expect(stdout).toBe('');
      }
    }, 120_000);

    it('close-to-open with another client: an SDK rewrite is what the next open on the mount reads', async () => {
      const p = join(m.mountpoint, 'shared.txt');
      await fs.writeFile(p, 'first version');
      expect(await fs.readFile(p, 'utf8')).toBe('first version');
      const { Volume } = await import('../../src/index.js');
      const other = await Volume.open(m.metaUrl, { client: 'test' });
      try {
        await other.writeFile('/shared.txt', 'second, longer version');
      } finally {
        await other.close();
      }
      // The kernel may trust attributes it has for --attr-cache seconds (1 here).
      await new Promise((r) => setTimeout(r, 1200));
      expect(await fs.readFile(p, 'utf8')).toBe('second, longer version');
    });

    it('the hidden .stats file counts what the mount did, and strata stats shows it', async () => {
      const before = JSON.parse(await fs.readFile(join(m.mountpoint, '.stats'), 'utf8'));
      await fs.writeFile(join(m.mountpoint, 'counted'), Buffer.alloc(300_000, 1));
      await fs.readFile(join(m.mountpoint, 'counted'));
      const after = JSON.parse(await fs.readFile(join(m.mountpoint, '.stats'), 'utf8'));
      expect(after.writeBytes - before.writeBytes).toBe(300_000);
      expect(after.readBytes - before.readBytes).toBeGreaterThanOrEqual(300_000);
      expect(after.ops.create.count).toBeGreaterThan(before.ops.create?.count ?? 0);
      expect(after.store.checksumErrors).toBe(0);
      // Hidden from listings, and nobody may replace or remove it.
      expect(await fs.readdir(m.mountpoint)).not.toContain('.stats');
      await expect(fs.unlink(join(m.mountpoint, '.stats'))).rejects.toMatchObject({ code: 'EPERM' });
      await expect(fs.writeFile(join(m.mountpoint, '.stats'), 'x')).rejects.toMatchObject({ code: expect.stringMatching(/EACCES|EPERM/) });
      const { stdout } = await run(process.execPath, [CLI, 'stats', m.mountpoint, '--count', '1']);
      expect(stdout).toMatch(/ops\/s=\d+ read_MiB\/s=[\d.]+ write_MiB\/s=[\d.]+/);
      const bad = await run(process.execPath, [CLI, 'stats', m.dir]).then(() => null, (e: { code: number; stderr: string }) => e);
      expect(bad?.code).toBe(1);
      expect(bad?.stderr).toMatch(/is .* a Strata mount/);
    });

    it('strata warmup PATH on a mount finds the volume and the mount\'s cache from .stats; reads then come from the cache', async () => {
      fuse.check();
      const cached = await makeMount(['--cache-dir', join(m.dir, 'warm-cache'), '--verify-cache-checksum', 'partial']);
      try {
        const tree = join(cached.mountpoint, 'ds', 'train');
        await fs.mkdir(tree, { recursive: true });
        const data = randomBytes(9 * 1024 * 1024 + 123);
        await fs.writeFile(join(tree, 'shard-0'), data);
        await fs.writeFile(join(cached.mountpoint, 'ds', 'label'), 'cat');
        const info = JSON.parse(await fs.readFile(join(cached.mountpoint, '.stats'), 'utf8')).volume;
        // A server URL with a password is shown masked and cannot be reused: warmup is given it.
        const usable = engine === 'sqlite';
        expect(info).toMatchObject({ name: 'fusetest', meta: redactUrl(cached.metaUrl), metaUsable: usable, cache: { dirs: [join(m.dir, 'warm-cache')], verify: 'partial' } });
        const metaFlag = usable ? [] : ['--meta', cached.metaUrl, '--cache-dir', join(m.dir, 'warm-cache')];
        // With --meta, paths are inside the volume.
        const at = (p: string) => (usable ? join(cached.mountpoint, p) : `/${p}`);
        const warm = await run(process.execPath, [CLI, 'warmup', ...metaFlag, at('ds')]);
        expect(warm.stdout).toMatch(/2 files, 4 blocks/);
        expect(warm.stdout).toMatch(/Warmed up 4 blocks: \d+ fetched/);
        const check = await run(process.execPath, [CLI, 'warmup', ...metaFlag, '--check', at('ds/train')]);
        expect(check.stdout).toMatch(/3\/3 .* 100\.0%/);
        // The mount serves those blocks from its cache (found on disk though another process wrote them).
        const before = JSON.parse(await fs.readFile(join(cached.mountpoint, '.stats'), 'utf8')).store;
        const fd = await fs.open(join(tree, 'shard-0'), 'r');
        const part = Buffer.alloc(64 * 1024);
        await fd.read(part, 0, part.length, 5 * 1024 * 1024);
        await fd.close();
        expect(part.equals(data.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + part.length))).toBe(true);
        const after = JSON.parse(await fs.readFile(join(cached.mountpoint, '.stats'), 'utf8')).store;
        expect(after.cacheHits).toBeGreaterThan(before.cacheHits);
        await run(process.execPath, [CLI, 'warmup', ...metaFlag, '--evict', at('ds/train')]);
        expect((await run(process.execPath, [CLI, 'warmup', ...metaFlag, '--check', at('ds/train')])).stdout).toMatch(/0\/3 .* 0\.0%/);
      } finally {
        await cached.stop();
        await cached.cleanup();
      }
    });

    it('access(2) answers like the kernel', async () => {
      await fs.writeFile(join(m.mountpoint, 'acc'), 'x');
      await expect(fs.access(join(m.mountpoint, 'acc'), constants.R_OK | constants.W_OK)).resolves.toBeUndefined();
      await expect(fs.access(join(m.mountpoint, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe.skipIf(fuse.skip || metadata.skip)(`${engine}: mount options`, () => {
    beforeAll(() => {
      fuse.check();
      metadata.check();
    });
    it('--writeback-cache: small writes merge, and appends and partial-page writes through write-only handles land exactly', async () => {
      const w = await makeMount(['--writeback-cache']);
      try {
        const p = join(w.mountpoint, 'small-writes');
        const h = await fs.open(p, 'w');
        const parts: Buffer[] = [];
        for (let i = 0; i < 2000; i++) {
          const b = Buffer.from(`record ${i} ${'x'.repeat(i % 97)}\n`);
          parts.push(b);
          await h.write(b);
        }
        await h.close();
        const want = Buffer.concat(parts);
        expect((await fs.stat(p)).size).toBe(want.length);
        expect((await fs.readFile(p)).equals(want)).toBe(true);
        const stats = JSON.parse(await fs.readFile(join(w.mountpoint, '.stats'), 'utf8'));
        // The kernel merged them: far fewer WRITE requests than write() calls.
        expect(stats.ops.write.count).toBeLessThan(2000);

        // The kernel keeps the size and offsets, and reads a page in before writing part of it,
        // through whatever handle it has: appending (O_WRONLY|O_APPEND, as `echo >>` does) and
        // writing into the middle through a write-only handle both work, as on a local disk. A
        // fresh mount has none of the file's pages, so each partial write makes the kernel read.
        const a = join(w.mountpoint, 'appended');
        await fs.writeFile(a, 'hello\n');
        expect(await w.stop()).toBe(0);
        await w.remount(['--writeback-cache']);
        await fs.appendFile(a, 'x\n');
        const h2 = await fs.open(a, constants.O_WRONLY | constants.O_APPEND);
        await h2.write('tail\n');
        await h2.close();
        expect(await fs.readFile(a, 'utf8')).toBe('hello\nx\ntail\n');
        const mid = await fs.open(a, constants.O_WRONLY);
        await mid.write('J', 1);
        await mid.close();
        expect(await fs.readFile(a, 'utf8')).toBe('hJllo\nx\ntail\n');
        expect(await w.stop()).toBe(0);
        // What was stored, not the kernel's pages.
        await w.remount();
        expect(await fs.readFile(a, 'utf8')).toBe('hJllo\nx\ntail\n');
        expect(await w.stop()).toBe(0);
      } finally {
        await w.cleanup();
      }
    }, 60_000);

    it('--read-only refuses changes with EROFS and still reads', async () => {
      const r = await makeMount();
      try {
        await fs.writeFile(join(r.mountpoint, 'kept'), 'data');
        expect(await r.stop()).toBe(0);
        await r.remount(['--read-only']);
        expect(await fs.readFile(join(r.mountpoint, 'kept'), 'utf8')).toBe('data');
        await expect(fs.writeFile(join(r.mountpoint, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
        await expect(fs.unlink(join(r.mountpoint, 'kept'))).rejects.toMatchObject({ code: 'EROFS' });
        expect(await r.stop()).toBe(0);
      } finally {
        await r.cleanup();
      }
    }, 60_000);
  });

  describe.skipIf(fuse.skip || metadata.skip)(`${engine}: mount lifecycle`, () => {
    beforeAll(() => {
      fuse.check();
      metadata.check();
    });
    it('SIGKILL leaves a stale mountpoint; mounting again detaches it and keeps what was fsynced', async () => {
      const k = await makeMount();
      try {
        const p = join(k.mountpoint, 'durable');
        const h = await fs.open(p, 'w');
        await h.write(Buffer.from('kept'));
        await h.sync();
        await h.close();
        await k.kill();
        await expect(fs.stat(k.mountpoint)).rejects.toMatchObject({ code: 'ENOTCONN' });
        await k.remount();
        expect(await fs.readFile(p, 'utf8')).toBe('kept');
        expect(await k.stop()).toBe(0);
      } finally {
        await k.cleanup();
      }
    }, 90_000);
  });
}
