// FileHandle against node:fs/promises' FileHandle on a real file: the same calls in the same
// order must give the same results, positions and file contents.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileHandle, Volume } from '../../src/index.js';
import { makeRefDir, makeVolume, nodefs, outcome, type TestVolume } from './helpers.js';

type AnyHandle = FileHandle;
type Fs = Volume;
/** node:fs/promises typed as the SDK (same shape) so one step function serves both. */
const ref$ = nodefs as unknown as Volume;

let tv: TestVolume;
let ref: string;

beforeAll(async () => {
  tv = await makeVolume();
  ref = await makeRefDir();
});

afterAll(async () => {
  await tv.cleanup();
  await rm(ref, { recursive: true, force: true });
});

/** Open `name` with `flags` on both sides, run `steps` on each handle, compare every result. */
async function sameOnHandles(name: string, flags: string | number, steps: ((h: AnyHandle) => Promise<unknown>)[]): Promise<void> {
  const ours = await tv.vol.open(`/${name}`, flags);
  const theirs = (await nodefs.open(join(ref, name), flags)) as unknown as FileHandle;
  try {
    for (const [i, step] of steps.entries()) {
      const a = await outcome(() => step(ours), '');
      const b = await outcome(() => step(theirs), ref);
      expect({ step: i, ...a }).toEqual({ step: i, ...b });
    }
  } finally {
    await ours.close();
    await theirs.close();
  }
  const a = await outcome(() => tv.vol.readFile(`/${name}`), '');
  const b = await outcome(() => nodefs.readFile(join(ref, name)), ref);
  expect(a).toEqual(b);
}

const strip = (r: { bytesRead?: number; bytesWritten?: number; buffer?: unknown }) => ({
  n: r.bytesRead ?? r.bytesWritten,
  buf: Buffer.isBuffer(r.buffer) ? r.buffer.toString('hex') : r.buffer,
});

describe('FileHandle', () => {
  it('read/write with explicit and current positions (buffer and string forms)', async () => {
    await sameOnHandles('rw', 'w+', [
      (h) => h.write('hello world').then(strip),
      (h) => h.write(Buffer.from('HE'), 0, 2, 0).then(strip),
      (h) => h.read(Buffer.alloc(5), 0, 5, 0).then(strip),
      (h) => h.read(Buffer.alloc(5), 0, 5, null).then(strip),
      (h) => h.write('!', null, 'utf8').then(strip),
      (h) => h.read({ buffer: Buffer.alloc(4), position: 6 }).then(strip),
      (h) => h.read(Buffer.alloc(4), { offset: 1, length: 2, position: 1 }).then(strip),
      (h) => h.write(Buffer.from('zz'), { position: 20 }).then(strip),
      (h) => h.read(Buffer.alloc(30), 0, 30, 0).then(strip),
      (h) => h.stat().then((s) => s.size),
      (h) => h.read(Buffer.alloc(2), 0, 5),
      (h) => h.read(Buffer.alloc(2), 3),
      (h) => h.write(Buffer.from('abc'), 0, 4),
    ]);
  });

  it('readv/writev, truncate, sync, datasync', async () => {
    await sameOnHandles('vec', 'w+', [
      (h) => h.writev([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]).then((r) => r.bytesWritten),
      (h) => h.readv([Buffer.alloc(2), Buffer.alloc(3)], 1).then((r) => [r.bytesRead, ...r.buffers.map((b) => b.toString())]),
      (h) => h.writev([Buffer.from('XY')], 1).then((r) => r.bytesWritten),
      (h) => h.truncate(4),
      (h) => h.sync(),
      (h) => h.datasync(),
      (h) => h.stat().then((s) => s.size),
      (h) => h.truncate(-3),
      (h) => h.stat().then((s) => s.size),
    ]);
  });

  it('readFile/writeFile/appendFile on a handle work from the file position', async () => {
    await nodefs.writeFile(join(ref, 'pos'), 'helloX');
    await tv.vol.writeFile('/pos', 'helloX');
    await sameOnHandles('pos', 'r+', [
      (h) => h.readFile('utf8'),
      (h) => h.readFile('utf8'),
      (h) => h.writeFile('new'),
      (h) => h.appendFile(Buffer.from('!')),
      (h) => h.read(Buffer.alloc(4), 0, 4, 0).then(strip),
    ]);
  });

  it('append mode writes at the end whatever the position says', async () => {
    await sameOnHandles('app', 'a+', [
      (h) => h.write('hello').then(strip),
      (h) => h.read(Buffer.alloc(3), 0, 3, null).then(strip),
      (h) => h.write('X', 0).then(strip),
      (h) => h.read(Buffer.alloc(10), 0, 10, 0).then(strip),
    ]);
  });

  it('read-only and write-only handles refuse the other direction with EBADF', async () => {
    await tv.vol.writeFile('/ro', 'abc');
    await nodefs.writeFile(join(ref, 'ro'), 'abc');
    await sameOnHandles('ro', 'r', [
      (h) => h.write('x'),
      (h) => h.truncate(1),
      (h) => h.read(Buffer.alloc(3), 0, 3, 0).then(strip),
    ]);
    await sameOnHandles('wo', 'w', [
      (h) => h.read(Buffer.alloc(3), 0, 3, 0),
      (h) => h.write('xyz').then(strip),
    ]);
  });

  it('numeric flags from fs.constants and open errors', async () => {
    const { O_CREAT, O_EXCL, O_RDWR, O_TRUNC, O_WRONLY, O_DIRECTORY } = nodefs.constants;
    const both = async (f: (fs: Fs, p: (r: string) => string) => Promise<unknown>) => {
      const a = await outcome(() => f(tv.vol, (r) => `/${r}`), '');
      const b = await outcome(() => f(ref$, (r) => join(ref, r)), ref);
      expect(a).toEqual(b);
    };
    const openClose = (fs: Fs, path: string, flags: number | string) => fs.open(path, flags).then((h) => h.close());
    await both((fs, p) => openClose(fs, p('num'), O_CREAT | O_EXCL | O_WRONLY));
    await both((fs, p) => openClose(fs, p('num'), O_CREAT | O_EXCL | O_WRONLY));
    await both((fs, p) => openClose(fs, p('num'), O_RDWR | O_TRUNC));
    await both((fs, p) => openClose(fs, p('num'), O_RDWR | O_DIRECTORY));
    await both((fs, p) => openClose(fs, p('missing'), 'r'));
    await both((fs, p) => openClose(fs, p('missing'), 'r+'));
    await both((fs, p) => openClose(fs, p(''), 'w'));
    await both((fs, p) => openClose(fs, p(''), 'r'));
    await both((fs, p) => openClose(fs, p('num/'), 'r'));
    await both((fs, p) => openClose(fs, p('newdir/'), 'w'));
    await both((fs, p) => fs.open(p(''), 'r').then(async (h) => { try { return await h.read(Buffer.alloc(1)); } finally { await h.close(); } }));
  });

  it('fails with EBADF after close, and close is idempotent', async () => {
    const h = await tv.vol.open('/closed', 'w');
    await h.close();
    await h.close();
    expect(h.fd).toBe(-1);
    await expect(h.write('x')).rejects.toMatchObject({ code: 'EBADF', syscall: 'write' });
    await expect(h.stat()).rejects.toMatchObject({ code: 'EBADF', syscall: 'fstat' });
  });

  it('streams, readLines and Symbol.asyncDispose', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n');
    {
      await using h = await tv.vol.open('/lines', 'w');
      const ws = h.createWriteStream();
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('close', () => resolve());
        for (let i = 0; i < 2000; i += 500) ws.write(lines.split('\n').slice(i, i + 500).join('\n') + (i + 500 < 2000 ? '\n' : ''));
        ws.end();
      });
    }
    expect(await tv.vol.readFile('/lines', 'utf8')).toBe(lines);
    const rh = await tv.vol.open('/lines');
    const got: string[] = [];
    for await (const line of rh.readLines()) got.push(line);
    expect(got.join('\n')).toBe(lines);
    await rh.close();
    const sh = await tv.vol.open('/lines');
    const chunks: Buffer[] = [];
    for await (const c of sh.createReadStream({ start: 5, end: 9, highWaterMark: 2 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(lines.slice(5, 10));
  });
});
