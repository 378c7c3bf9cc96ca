// A client in a region of the mirror tests and bench/mirror, in a process of its own (a host of
// that region): it opens a volume (a mirror with mirror writes, or the primary) and runs what it
// is told on stdin, one JSON line per command, answering one JSON line each.
// argv: META_URL [--mirror-writes]   env: STRATA_PRIMARY_META (the primary, with its password)
//   {"cmd":"trials","n":1000,"seed":1,"dir":"/t"} -> {"trials","stale","details","ms"}
//     write-then-read trials (create, overwrite, append, rename, unlink, chmod), each read back at
//     once through this client and compared with what was written
//   {"cmd":"write","path":"/ckpt","mib":1024,"seed":3} -> {"ms"}   a big file, closed
//   {"cmd":"hash","path":"/ckpt"} -> {"sha256","bytes","ms"}   (or {"missing":true})
//   {"cmd":"tree","dir":"/t"} -> {"files":{name:"mode:sha256"}}
//   {"cmd":"latency","n":200,"dir":"/lat"} -> {"ms":[...]} write latency of small files
//   {"cmd":"steady","seconds":20,"rate":20,"dir":"/lag"} -> {"writes"} small files at a steady rate
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Volume } from '../src/index.js';

const [url, ...flags] = process.argv.slice(2);
const vol = await Volume.open(url!, { client: 'mirror-client', mirrorWrites: flags.includes('--mirror-writes') });

function rng(seed: number): (k: number) => number {
  let s = seed >>> 0;
  return (k) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % k;
  };
}

const code = (err: unknown) => (err as { code?: string }).code;

async function trials(n: number, seed: number, dir: string) {
  const rand = rng(seed);
  const model = new Map<string, { data: string; mode: number }>();
  await vol.mkdir(dir, { recursive: true });
  let stale = 0;
  const details: string[] = [];
  const saw = (what: string) => {
    stale++;
    if (details.length < 20) details.push(what);
  };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const names = [...model.keys()];
    const existing = names.length > 0 ? names[rand(names.length)]! : null;
    const op = existing === null ? 0 : rand(6);
    const fresh = `${dir}/f${i}`;
    switch (op) {
      case 0: {
        const data = `created ${i} ${'x'.repeat(rand(3000))}`;
        await vol.writeFile(fresh, data);
        model.set(fresh, { data, mode: 0o644 });
        if ((await vol.readFile(fresh, 'utf8')) !== data) saw(`create ${fresh}`);
        break;
      }
      case 1: {
        const data = `overwritten ${i}`;
        await vol.writeFile(existing!, data);
        model.get(existing!)!.data = data;
        if ((await vol.readFile(existing!, 'utf8')) !== data) saw(`overwrite ${existing}`);
        break;
      }
      case 2: {
        const more = ` +${i}`;
        await vol.appendFile(existing!, more);
        model.get(existing!)!.data += more;
        if ((await vol.readFile(existing!, 'utf8')) !== model.get(existing!)!.data) saw(`append ${existing}`);
        break;
      }
      case 3: {
        await vol.rename(existing!, fresh);
        model.set(fresh, model.get(existing!)!);
        model.delete(existing!);
        const gone = await vol.stat(existing!).then(() => false, (e: unknown) => code(e) === 'ENOENT');
        if (!gone || (await vol.readFile(fresh, 'utf8')) !== model.get(fresh)!.data) saw(`rename ${existing} ${fresh}`);
        break;
      }
      case 4: {
        await vol.unlink(existing!);
        model.delete(existing!);
        if (!(await vol.stat(existing!).then(() => false, (e: unknown) => code(e) === 'ENOENT'))) saw(`unlink ${existing}`);
        break;
      }
      default: {
        const mode = [0o600, 0o640, 0o644, 0o755][rand(4)]!;
        await vol.chmod(existing!, mode);
        model.get(existing!)!.mode = mode;
        if (((await vol.stat(existing!)).mode & 0o7777) !== mode) saw(`chmod ${existing}`);
      }
    }
  }
  return { trials: n, stale, details, ms: performance.now() - t0 };
}

async function write(path: string, mib: number, seed: number) {
  const t0 = performance.now();
  const block = Buffer.alloc(1 << 20);
  const h = await vol.open(path, 'w');
  for (let i = 0; i < mib; i++) {
    block.fill((seed + i) & 0xff);
    block.writeUInt32LE(i, 0);
    await h.write(block);
  }
  await h.close();
  return { ms: performance.now() - t0 };
}

async function hash(path: string) {
  const t0 = performance.now();
  const h = await vol.open(path, 'r').catch((e: unknown) => (code(e) === 'ENOENT' ? null : Promise.reject(e)));
  if (h === null) return { missing: true };
  const sha = createHash('sha256');
  const buf = Buffer.alloc(4 << 20);
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await h.read(buf, 0, buf.length, bytes);
    if (bytesRead === 0) break;
    sha.update(buf.subarray(0, bytesRead));
    bytes += bytesRead;
  }
  await h.close();
  return { sha256: sha.digest('hex'), bytes, ms: performance.now() - t0 };
}

async function tree(dir: string) {
  const files: Record<string, string> = {};
  for (const name of await vol.readdir(dir).catch(() => [] as string[])) {
    const st = await vol.stat(`${dir}/${name}`);
    files[name] = `${(st.mode & 0o7777).toString(8)}:${createHash('sha256').update(await vol.readFile(`${dir}/${name}`)).digest('hex')}`;
  }
  return { files };
}

async function latency(n: number, dir: string) {
  await vol.mkdir(dir, { recursive: true });
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await vol.writeFile(`${dir}/l${i}`, `latency ${i}`);
    ms.push(performance.now() - t0);
  }
  return { ms };
}

async function steady(seconds: number, rate: number, dir: string) {
  await vol.mkdir(dir, { recursive: true });
  const t0 = Date.now();
  let writes = 0;
  while (Date.now() - t0 < seconds * 1000) {
    await vol.writeFile(`${dir}/s${writes}`, `steady ${writes}`);
    writes++;
    const due = t0 + (writes * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  return { writes };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const c = JSON.parse(line) as Record<string, unknown>;
  if (c.cmd === 'exit') break;
  try {
    const answer = c.cmd === 'trials' ? await trials(Number(c.n), Number(c.seed), String(c.dir))
      : c.cmd === 'write' ? await write(String(c.path), Number(c.mib), Number(c.seed ?? 1))
        : c.cmd === 'hash' ? await hash(String(c.path))
          : c.cmd === 'tree' ? await tree(String(c.dir))
            : c.cmd === 'latency' ? await latency(Number(c.n), String(c.dir))
              : c.cmd === 'steady' ? await steady(Number(c.seconds), Number(c.rate), String(c.dir))
              : { error: `unknown command ${String(c.cmd)}` };
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message, code: code(err) })}\n`);
  }
}
await vol.close();
