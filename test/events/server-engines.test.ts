// Event notifications on volumes whose metadata is on PostgreSQL and MariaDB: events committed with
// the gateway's changes, and derived from the change log for an SDK client's, as on SQLite.
import { CreateBucketCommand, DeleteObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargetSpec } from '../../src/events/targets/target.js';
import { startGateway } from '../../src/gateway/index.js';
import { Volume } from '../../src/index.js';
import { databases } from '../helpers/databases.js';
import { ACCESS_KEY, SECRET_KEY } from '../gateway/harness.js';

for (const kind of ['postgres', 'mysql'] as const) {
  const dbs = databases(kind);
  describe.skipIf(dbs.skip)(`event notifications on a ${kind} volume`, () => {
    let hook: Server;
    const got: { name: string; key: string; principal: string }[] = [];
    beforeAll(async () => {
      dbs.check();
      hook = createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          const r = (JSON.parse(Buffer.concat(parts).toString()) as { Records: { eventName: string; userIdentity: { principalId: string }; s3: { object?: { key: string } } }[] }).Records[0]!;
          if (r.s3.object) got.push({ name: r.eventName, key: r.s3.object.key, principal: r.userIdentity.principalId });
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
    });

    it('gateway changes and an SDK client\'s each arrive once, in order', async () => {
      const url = await dbs.fresh('events');
      const dir = await mkdtemp(join(tmpdir(), 'strata-events-engine-'));
      await Volume.format(url, { name: 'ev', storage: `file://${dir}`, trashDays: 0 });
      const gw = await startGateway({
        metaUrl: url, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, log: () => undefined, eventsFromVolume: true,
        notify: [parseTargetSpec(`webhook:w=http://127.0.0.1:${(hook.address() as AddressInfo).port}/`)],
      });
      const s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
      const vol = await Volume.open(url);
      try {
        await s3.send(new CreateBucketCommand({ Bucket: 'evs' }));
        await s3.send(new PutBucketNotificationConfigurationCommand({
          Bucket: 'evs',
          NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:strata:sqs::w:webhook', Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
        }));
        await s3.send(new PutObjectCommand({ Bucket: 'evs', Key: 'small', Body: 'x' }));
        await s3.send(new PutObjectCommand({ Bucket: 'evs', Key: 'big', Body: Buffer.alloc(2 * 1024 * 1024 + 1) }));
        await s3.send(new DeleteObjectCommand({ Bucket: 'evs', Key: 'small' }));
        await vol.writeFile('/evs/from-sdk', 'written by a client of the volume');
        const deadline = Date.now() + 20_000;
        while (!got.some((g) => g.key === 'from-sdk')) {
          if (Date.now() > deadline) throw new Error(`events so far: ${JSON.stringify(got)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 1000));
        expect(got.map((g) => [g.name, g.key])).toEqual([
          ['ObjectCreated:Put', 'small'], ['ObjectCreated:Put', 'big'], ['ObjectRemoved:Delete', 'small'], ['ObjectCreated:Put', 'from-sdk'],
        ]);
        expect(got.at(-1)!.principal).toBe('strata-volume');
      } finally {
        s3.destroy();
        await vol.close();
        await gw.close();
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
