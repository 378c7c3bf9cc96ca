// --events-from-volume: files created, overwritten and deleted through a FUSE mount (another
// process) and an SDK client become bucket events, as the gateway's own changes do, once each.
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargetSpec } from '../../src/events/targets/target.js';
import { fuseUnavailable } from '../../src/fuse/native.js';
import { startGateway, type Gateway } from '../../src/gateway/index.js';
import { Volume } from '../../src/index.js';
import { makeMount, type TestMount } from '../fuse/mounted.js';
import { need } from '../helpers/require.js';
import { ACCESS_KEY, SECRET_KEY } from '../gateway/harness.js';
import { described } from './workload.js';

const fuse = need('FUSE', fuseUnavailable());

describe.skipIf(fuse.skip)('events of changes made through a mount and the SDK (--events-from-volume)', () => {
  let m: TestMount;
  let gw: Gateway;
  let s3: S3Client;
  let vol: Volume;
  let hook: Server;
  const got: Record<string, unknown>[] = [];

  beforeAll(async () => {
    fuse.check();
    m = await makeMount();
    hook = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        got.push(...(JSON.parse(Buffer.concat(parts).toString()) as { Records: Record<string, unknown>[] }).Records);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    gw = await startGateway({
      metaUrl: m.metaUrl, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, log: () => undefined, eventsFromVolume: true,
      notify: [parseTargetSpec(`webhook:w=http://127.0.0.1:${(hook.address() as AddressInfo).port}/`)],
    });
    s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1 });
    vol = await Volume.open(m.metaUrl);
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await vol?.close();
    await gw?.close();
    await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
    await m?.cleanup();
  }, 60_000);

  const waitFor = async (what: string, done: (events: ReturnType<typeof described>[]) => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!done(got.map(described))) {
      if (Date.now() > deadline) throw new Error(`no ${what} among ${JSON.stringify(got.map(described), null, 1)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return got.map(described);
  };

  it('creations, overwrites and deletions from a mount and the SDK arrive; the gateway\'s own arrive once', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vbk' }));
    await s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: 'vbk',
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'all', QueueArn: 'arn:strata:sqs::w:webhook', Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
    }));
    const at = (p: string) => join(m.mountpoint, 'vbk', p);
    await fs.mkdir(at('dir'));
    await fs.writeFile(at('dir/f 1.txt'), 'first version');
    await waitFor('mount create', (e) => e.some((x) => x.key === 'dir/f 1.txt' && x.size === 13));
    await fs.writeFile(at('dir/f 1.txt'), 'the second, longer version');
    await waitFor('mount overwrite', (e) => e.some((x) => x.key === 'dir/f 1.txt' && x.size === 26));
    await fs.rename(at('dir/f 1.txt'), at('moved.txt'));
    await fs.unlink(at('moved.txt'));
    await vol.writeFile('/vbk/sdk.bin', Buffer.alloc(5000, 1));
    await vol.unlink('/vbk/sdk.bin');
    await s3.send(new PutObjectCommand({ Bucket: 'vbk', Key: 'gw.txt', Body: 'through the gateway' }));
    // Large enough to be written to a staging file and renamed to its key.
    await s3.send(new PutObjectCommand({ Bucket: 'vbk', Key: 'gw-big.bin', Body: Buffer.alloc(3 * 1024 * 1024, 2) }));
    // A directory made at the top of the volume is a bucket.
    await fs.mkdir(join(m.mountpoint, 'made-on-the-mount'));
    const events = await waitFor('all of them', (e) => e.some((x) => x.eventName === 'BucketCreated' && x.bucket === 'made-on-the-mount')
      && e.some((x) => x.key === 'gw.txt') && e.some((x) => x.key === 'gw-big.bin'));
    // Whatever the change log still had to say about them has been read by now.
    await new Promise((r) => setTimeout(r, 1500));
    const of = (key: string) => events.filter((x) => x.key === key).map((x) => [x.eventName, x.size]);
    expect(of('dir/f 1.txt').at(-1)).toEqual(['ObjectRemoved:Delete', undefined]);
    expect(of('dir/f 1.txt')).toContainEqual(['ObjectCreated:Put', 13]);
    expect(of('dir/f 1.txt')).toContainEqual(['ObjectCreated:Put', 26]);
    // Renamed and deleted at once: its size may be gone by the time the log is read.
    expect(of('moved.txt').map((x) => x[0])).toEqual(['ObjectCreated:Put', 'ObjectRemoved:Delete']);
    expect(of('sdk.bin').at(-1)).toEqual(['ObjectRemoved:Delete', undefined]);
    expect(of('gw.txt')).toEqual([['ObjectCreated:Put', 19]]);
    expect(of('gw-big.bin')).toEqual([['ObjectCreated:Put', 3 * 1024 * 1024]]);
    expect(events.filter((x) => x.eventName === 'BucketCreated').map((x) => x.bucket)).toEqual(['vbk', 'made-on-the-mount']);
    // Derived events name who made them as the volume, gateway ones the caller.
    const principals = new Set(got.filter((r) => !(r.s3 as { object?: { key: string } }).object?.key.startsWith('gw') && (r.s3 as { object?: unknown }).object).map((r) => (r.userIdentity as { principalId: string }).principalId));
    expect(principals).toEqual(new Set(['strata-volume']));
  }, 60_000);
});
