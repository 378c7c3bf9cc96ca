// The command line of event notifications: bad --notify flags and config files are refused with a
// message naming what is wrong (exit 2, nothing started), secrets are not echoed, and
// `strata events status` shows a volume's queue.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMeta } from '../../src/meta/index.js';
import { Volume } from '../../src/index.js';
import { strata } from '../helpers/cli.js';

describe('strata gateway --notify and strata events status', () => {
  let dir: string;
  let metaUrl: string;
  const env = { STRATA_GATEWAY_ACCESS_KEY: 'admin', STRATA_GATEWAY_SECRET_KEY: 'change-me-please' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-events-cli-'));
    metaUrl = `sqlite3://${join(dir, 'meta.db')}`;
    await Volume.format(metaUrl, { name: 'cli', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
    Object.assign(process.env, env);
  });
  afterAll(async () => {
    for (const k of Object.keys(env)) delete process.env[k];
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad targets with what is wrong and an example, without printing the secret', () => {
    const cases: [string[], RegExp][] = [
      [['--notify', 'kafka:1=kafka://127.0.0.1:9092'], /unknown .*type|kafka/i],
      [['--notify', 'redis:1=http://127.0.0.1:6379'], /redis/],
      [['--notify', 'redis:bad id=redis://127.0.0.1:6379'], /id/i],
      [['--notify', 'webhook:1=http://127.0.0.1/?colour=red'], /colour/],
      [['--notify', 'redis:1=redis://127.0.0.1:6379/0?format=sideways'], /format/],
      [['--notify', 'webhook:1=http://127.0.0.1/?token=${STRATA_NO_SUCH_VARIABLE}'], /STRATA_NO_SUCH_VARIABLE.*not set/],
    ];
    for (const [args, message] of cases) {
      const r = strata('gateway', metaUrl, '127.0.0.1:0', ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out).not.toMatch(/serving/);
    }
    const secret = strata('gateway', metaUrl, '127.0.0.1:0', '--notify', 'redis:1=redis://:hunter2-secret@127.0.0.1:6379/0?format=sideways');
    expect(secret.code).toBe(2);
    expect(secret.err).not.toContain('hunter2-secret');
  });

  it('reads targets from a file, naming the line of a bad one; --events-from-volume needs a target', async () => {
    const file = join(dir, 'targets.conf');
    await writeFile(file, '# targets\nredis:1=redis://127.0.0.1:6379/0\n\nwebhook:1=http://127.0.0.1:8080/\n');
    const dup = strata('gateway', metaUrl, '127.0.0.1:0', '--notify-config', file);
    expect(dup.code).toBe(2);
    expect(dup.err).toMatch(/targets\.conf:4: a second target with id "1"/);
    await writeFile(file, 'redis:1=redis://127.0.0.1:6379/0\nnot a target\n');
    const bad = strata('gateway', metaUrl, '127.0.0.1:0', '--notify-config', file);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/targets\.conf:2:/);
    const lonely = strata('gateway', metaUrl, '127.0.0.1:0', '--events-from-volume');
    expect(lonely.code).toBe(2);
    expect(lonely.err).toMatch(/--events-from-volume needs at least one --notify target/);
  });

  it('events status shows each target\'s queue', async () => {
    expect(strata('events', 'status', metaUrl).out).toMatch(/No event notification has been queued/);
    const meta = await openMeta(metaUrl);
    try {
      await meta.queueEvents([{ target: 'hook', key: 'b/k', body: '{}' }, { target: 'hook', key: 'b/j', body: '{}' }]);
      await meta.settleEvents('hook', [], 3);
    } finally {
      await meta.close();
    }
    const text = strata('events', 'status', metaUrl);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/hook\s+2\s+.*ago\)\s+0\s+3\s+0/);
    const json = JSON.parse(strata('events', 'status', metaUrl, '--json').out) as { targets: { target: string; depth: number; failed: number }[] };
    expect(json.targets).toMatchObject([{ target: 'hook', depth: 2, failed: 3 }]);
    const missing = strata('events', 'status', `sqlite3://${join(dir, 'nothing-here.db')}`);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no Strata volume|format one first/);
  });
});
