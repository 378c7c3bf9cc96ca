// The POSIX gaps outside suites found on the mount, each compared with the same steps on a local
// directory: a write or truncate by a non-owner drops setuid/setgid (pjdfstest chmod/12.t); a
// refused truncate changes nothing; fallocate's modes; st_blocks, du and df count stored bytes,
// not holes.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { need } from '../helpers/require.js';
import { mountForSuite, run, type TestMount } from './mounted.js';

const fuse = need('FUSE', fuseUnavailable());
const MiB = 1024 * 1024;

/** Run a node script as nobody (uid/gid 65534); its stdout, or the error it printed. */
function asNobody(script: string): Promise<string> {
  return run(process.execPath, ['-e', script], { uid: 65534, gid: 65534 })
    .then((o) => o.stdout.trim(), (e: { stdout?: string; stderr?: string }) => `fail ${e.stdout ?? ''} ${e.stderr ?? ''}`);
}

const FALLOCATE = `
import ctypes, ctypes.util, hashlib, json, os, sys
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, bytes(range(256)) * 1024)
out = []
for mode, off, length in json.loads(sys.argv[2]):
    r = libc.fallocate(fd, mode, off, length)
    err = 'ok' if r == 0 else os.strerror(ctypes.get_errno())
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    out.append([mode, off, length, err, size, hashlib.sha256(data).hexdigest()[:16]])
os.close(fd)
print(json.dumps(out))
`;

describe.skipIf(fuse.skip)('POSIX gaps on the mount, compared with a local directory', () => {
  const mount = mountForSuite(fuse, ['--allow-other']);
  let m: TestMount;
  let ref: string;

  beforeAll(async () => {
    m = mount();
    ref = join(m.dir, 'ref');
    await fs.mkdir(ref);
    // Other users must be able to reach both trees (mkdtemp makes the parent 0700).
    await fs.chmod(m.dir, 0o755);
  });

  async function both<T>(steps: (root: string) => Promise<T>): Promise<{ mnt: T; ref: T }> {
    return { mnt: await steps(m.mountpoint), ref: await steps(ref) };
  }

  it('a write by a non-owner with write permission succeeds and drops setuid, and setgid when group-executable or the writer is not in the group', async () => {
    const r = await both(async (root) => {
      const out: string[] = [];
      for (const mode of [0o6777, 0o4777, 0o2777, 0o2767]) {
        const p = join(root, `setid-${mode.toString(8)}`);
        await fs.writeFile(p, 'hello');
        await fs.chmod(p, mode);
        const wrote = await asNobody(`require('fs').appendFileSync(${JSON.stringify(p)}, ' world'); console.log('ok')`);
        const st = await fs.stat(p);
        out.push(`${mode.toString(8)}: ${wrote} -> ${(st.mode & 0o7777).toString(8)} ${await fs.readFile(p, 'utf8')}`);
      }
      return out;
    });
    expect(r.mnt).toEqual(r.ref);
    expect(r.mnt).toEqual(['6777: ok -> 777 hello world', '4777: ok -> 777 hello world', '2777: ok -> 777 hello world', '2767: ok -> 767 hello world']);
  });

  it('truncate by a non-owner: with write permission it succeeds and drops setuid; without, it fails and changes nothing', async () => {
    const r = await both(async (root) => {
      const out: string[] = [];
      for (const mode of [0o4777, 0o4755]) {
        const p = join(root, `trunc-${mode.toString(8)}`);
        await fs.writeFile(p, 'hello');
        await fs.chmod(p, mode);
        const did = await asNobody(`try { require('fs').truncateSync(${JSON.stringify(p)}, 2); console.log('ok') } catch (e) { console.log(e.code) }`);
        const st = await fs.stat(p);
        out.push(`${mode.toString(8)}: ${did} -> ${(st.mode & 0o7777).toString(8)} size ${st.size}`);
      }
      return out;
    });
    expect(r.mnt).toEqual(r.ref);
    expect(r.mnt).toEqual(['4777: ok -> 777 size 2', '4755: EACCES -> 4755 size 5']);
  });

  it('fallocate: allocate, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE give the sizes and bytes local disk gives', async () => {
    const steps = [
      [0, 200_000, 100_000], [1, 400_000, 4096], [3, 4096, 8192], [3, 250_000, 100_000],
      [0x10, 10_000, 5000], [0x11, 290_000, 50_000], [0x10, 290_000, 50_000], [2, 0, 4096],
    ];
    const r = await both(async (root) => {
      const { stdout } = await run('python3', ['-c', FALLOCATE, join(root, 'falloc'), JSON.stringify(steps)]);
      return JSON.parse(stdout) as unknown[];
    });
    expect(r.mnt).toEqual(r.ref);
    // PUNCH_HOLE without KEEP_SIZE is refused on both.
    expect((r.mnt.at(-1) as unknown[])[3]).toBe('Operation not supported');
    const { stdout } = await run('python3', ['-c', FALLOCATE, join(m.mountpoint, 'collapse'), JSON.stringify([[0x08, 0, 4096], [0x20, 0, 4096]])]);
    expect((JSON.parse(stdout) as unknown[][]).map((s) => s[3])).toEqual(['Operation not supported', 'Operation not supported']);
  });

  it('st_blocks, du and df count stored bytes: 1 MiB at 10 GiB takes 1 MiB, not 10 GiB', async () => {
    const df = async () => Number((await run('df', ['-B1', '--output=used', m.mountpoint])).stdout.trim().split('\n')[1]);
    const before = await df();
    const r = await both(async (root) => {
      const p = join(root, 'sparse');
      const h = await fs.open(p, 'w');
      await h.write(Buffer.alloc(MiB, 1), 0, MiB, 10 * 1024 * MiB);
      await h.close();
      const st = await fs.stat(p);
      const du = Number((await run('du', ['-B1', p])).stdout.split('\t')[0]);
      return { size: st.size, blocks: st.blocks, du };
    });
    expect(r.mnt).toEqual({ size: 10 * 1024 * MiB + MiB, blocks: 2048, du: MiB });
    expect(r.ref.size).toBe(r.mnt.size);
    expect(Math.abs(r.ref.blocks - r.mnt.blocks)).toBeLessThanOrEqual(16);
    expect(await df() - before).toBe(MiB);
    // Its bytes read back as written, the hole as zeros.
    const h = await fs.open(join(m.mountpoint, 'sparse'), 'r');
    const buf = Buffer.alloc(2 * MiB);
    const { bytesRead } = await h.read(buf, 0, 2 * MiB, 10 * 1024 * MiB - MiB);
    await h.close();
    expect(bytesRead).toBe(2 * MiB);
    expect(createHash('sha256').update(buf).digest('hex')).toBe(createHash('sha256').update(Buffer.concat([Buffer.alloc(MiB), Buffer.alloc(MiB, 1)])).digest('hex'));
  });
});
