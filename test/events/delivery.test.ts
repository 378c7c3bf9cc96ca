// Delivery from the volume's queue by several gateways at once: a target that answers slowly
// (longer, over a batch, than the delivery lease) still gets each event once and in order, and
// a full queue drops its oldest events, counted.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventDelivery } from '../../src/events/delivery.js';
import { openTarget } from '../../src/events/targets/index.js';
import { parseTargetSpec } from '../../src/events/targets/target.js';
import { Volume } from '../../src/index.js';
import { openMeta } from '../../src/meta/index.js';
import type { Meta } from '../../src/meta/meta.js';

describe('event delivery by several gateways', () => {
  let dir: string;
  let metaUrl: string;
  let hook: Server;
  let delay = 0;
  const seen: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-delivery-'));
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'delivery', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
    hook = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const r = (JSON.parse(Buffer.concat(parts).toString()) as { Records: { s3: { object: { sequencer: string } } }[] }).Records[0]!;
        seen.push(r.s3.object.sequencer);
        setTimeout(() => res.writeHead(200).end(), delay);
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => hook.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const record = (n: number) => JSON.stringify({ eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), s3: { bucket: { name: 'b' }, object: { key: `k${n}` } } });

  it('a target slower than the lease gets every event once, in order', async () => {
    delay = 40;
    const metas: Meta[] = [await openMeta(metaUrl), await openMeta(metaUrl)];
    const spec = parseTargetSpec(`webhook:slow=http://127.0.0.1:${(hook.address() as AddressInfo).port}/`);
    await metas[0]!.queueEvents(Array.from({ length: 60 }, (_, n) => ({ target: 'slow', key: 'b/one-key', body: record(n) })));
    const logs: string[] = [];
    // A lease of 300 ms against batches of 20 events taking 800 ms each.
    const gateways = metas.map((meta, i) => new EventDelivery({ meta, targets: [openTarget(spec)], holder: `g${i}`, queueMax: 1000, log: (m) => logs.push(m), leaseMs: 300, batch: 20, pollMs: 50 }));
    for (const g of gateways) g.start();
    try {
      const deadline = Date.now() + 30_000;
      while ((await metas[0]!.eventStats())[0]!.depth > 0) {
        if (Date.now() > deadline) throw new Error(`not delivered: ${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      for (const g of gateways) await g.close();
      for (const m of metas) await m.close();
    }
    expect(seen.length).toBe(60);
    expect(new Set(seen).size).toBe(60);
    expect(seen).toEqual([...seen].sort());
  }, 60_000);

  it('a queue over its bound loses its oldest events, counted and logged', async () => {
    const meta = await openMeta(metaUrl);
    const logs: string[] = [];
    const g = new EventDelivery({ meta, targets: [], holder: 'trimmer', queueMax: 10, log: (m) => logs.push(m) });
    try {
      await meta.queueEvents(Array.from({ length: 25 }, (_, n) => ({ target: 'nobody-serves-this', key: 'b/k', body: record(n) })));
      g.start();
      const deadline = Date.now() + 10_000;
      while (((await meta.eventStats()).find((s) => s.target === 'nobody-serves-this')?.depth ?? 0) > 10) {
        if (Date.now() > deadline) throw new Error('not trimmed');
        await new Promise((r) => setTimeout(r, 50));
      }
      const stats = (await meta.eventStats()).find((s) => s.target === 'nobody-serves-this')!;
      expect(stats).toMatchObject({ depth: 10, dropped: 15 });
      expect(logs.join('\n')).toMatch(/EVENTS DROPPED: the queue of target "nobody-serves-this" .* the oldest 15 event\(s\) were dropped/);
    } finally {
      await g.close();
      await meta.close();
    }
  });
});
