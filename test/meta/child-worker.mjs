// A separate process driving the BUILT metadata engine (dist/), for test/meta/multiprocess.test.ts.
//
//   node child-worker.mjs META_URL
//
// Requests arrive on stdin, one JSON object per line; each gets one JSON reply line on stdout, in
// order. The first line written is {"ready":true,"pid":N} once the volume is open.
//   {"op":"call","method":"flock","args":[...]}           -> {"ok":true,"value":...} | {"ok":false,"code":"EAGAIN","message":"..."}
//   {"op":"create","dir":N,"prefix":"a","count":500}      -> {"ok":true,"value":[ino, ...]}  (all creates in flight at once)
//   {"op":"exit"}                                         -> closes the engine and exits 0
import { createInterface } from 'node:readline';
import { openMeta } from '../../dist/src/meta/index.js';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: child-worker.mjs META_URL\n');
  process.exit(2);
}

const send = (msg) => process.stdout.write(`${JSON.stringify(msg, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
const meta = await openMeta(url);
const REG = 0o100644;

async function handle(req) {
  switch (req.op) {
    case 'call':
      return meta[req.method](...(req.args ?? []));
    case 'create': {
      const made = await Promise.all(
        Array.from({ length: req.count }, (_, i) => meta.mknod(req.dir, `${req.prefix}${i}`, { mode: REG, uid: process.pid, gid: 0 })),
      );
      return made.map((a) => a.ino);
    }
    case 'exit':
      await meta.close();
      send({ ok: true, value: null });
      process.exit(0);
      return null;
    default:
      throw Object.assign(new Error(`unknown op ${String(req.op)}`), { code: 'EINVAL' });
  }
}

// Requests are served one at a time, in arrival order.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  chain = chain.then(async () => {
    try {
      send({ ok: true, value: (await handle(JSON.parse(line))) ?? null });
    } catch (err) {
      send({ ok: false, code: err?.code ?? null, message: String(err?.message ?? err) });
    }
  });
}).on('close', () => {
  // The test went away: finish what was asked, then leave (never linger as an orphan).
  void chain.then(() => meta.close()).finally(() => process.exit(0));
});
send({ ready: true, pid: process.pid });
