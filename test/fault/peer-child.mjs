// Child process for two-process.test.ts: one client of a volume (the BUILT SDK) driven by JSON
// commands on stdin, one reply per command on stdout: {"id":..,"ok":..} or {"id":..,"error":{code,message}}.
// Commands: writeFile, readFile, stat, open (keeps a handle by name), pwrite, pread, hclose,
// append (many appendFile calls of fixed-size records), close.
// Usage: node peer-child.mjs META_URL
import { createInterface } from 'node:readline';

const { Volume } = await import(new URL('../../dist/src/index.js', import.meta.url).href);
const [metaUrl] = process.argv.slice(2);
setTimeout(() => process.exit(3), 60_000).unref();

const vol = await Volume.open(metaUrl, { reclaimMs: 50 });
const handles = new Map();
const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const b64 = (buf) => Buffer.from(buf).toString('base64');

async function run(cmd) {
  switch (cmd.op) {
    case 'writeFile':
      await vol.writeFile(cmd.path, Buffer.from(cmd.data, 'base64'));
      return true;
    case 'readFile': {
      const data = await vol.readFile(cmd.path);
      return { data: b64(data), size: (await vol.stat(cmd.path)).size };
    }
    case 'stat':
      return { size: (await vol.stat(cmd.path)).size };
    case 'open':
      handles.set(cmd.name, await vol.open(cmd.path, cmd.flags));
      return true;
    case 'pwrite': {
      const data = Buffer.from(cmd.data, 'base64');
      const { bytesWritten } = await handles.get(cmd.name).write(data, 0, data.length, cmd.pos);
      return bytesWritten;
    }
    case 'pread': {
      const buf = Buffer.alloc(cmd.length);
      const { bytesRead } = await handles.get(cmd.name).read(buf, 0, cmd.length, cmd.pos);
      return b64(buf.subarray(0, bytesRead));
    }
    case 'hclose':
      await handles.get(cmd.name).close();
      handles.delete(cmd.name);
      return true;
    case 'append': {
      // Records `${tag}:${i}:` padded with `tag` to recLen-1 bytes, then '\n'; each its own
      // appendFile (open O_APPEND, write, close), or a write + sync on handle `handle`. Optionally waits for a start time first, so
      // two processes start together.
      if (cmd.startAt) await new Promise((r) => setTimeout(r, Math.max(0, cmd.startAt - Date.now())));
      for (let i = 0; i < cmd.count; i++) {
        const head = `${cmd.tag}:${String(i).padStart(4, '0')}:`;
        const line = head.padEnd(cmd.recLen - 1, cmd.tag) + '\n';
        if (cmd.handle) {
          // One long-lived O_APPEND handle, synced after every record (a log writer).
          await handles.get(cmd.handle).write(line);
          await handles.get(cmd.handle).sync();
        } else {
          await vol.appendFile(cmd.path, line);
        }
      }
      return true;
    }
    case 'close':
      await vol.close();
      return true;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

// Commands run one at a time, in order.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  chain = chain.then(async () => {
    try {
      reply({ id: cmd.id, ok: await run(cmd) });
    } catch (err) {
      reply({ id: cmd.id, error: { code: err?.code, message: String(err?.message ?? err) } });
    }
    if (cmd.op === 'close') process.exit(0);
  });
});
reply({ id: 0, ok: 'ready' });
