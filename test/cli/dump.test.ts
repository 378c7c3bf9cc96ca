// strata dump and strata load as users run them: files and pipes, gzip, a summary at the end,
// clear refusals (exit 1) that leave nothing behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volume } from '../../src/index.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

function strata(args: string[], input?: Buffer): { code: number | null; out: Buffer; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { timeout: 60_000, input });
  return { code: r.status, out: r.stdout, err: r.stderr.toString() };
}

let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-dumpcli-'));
  source = `sqlite3://${join(dir, 'source.db')}`;
  await Volume.format(source, { name: 'cli', storage: `file://${join(dir, 'objects')}`, trashDays: 0 });
  const vol = await Volume.open(source);
  await vol.mkdir('/d/e', { recursive: true });
  for (let i = 0; i < 50; i++) await vol.writeFile(`/d/e/f${i}`, `file ${i}\n`);
  await vol.symlink('e/f1', '/d/link');
  await vol.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('strata dump / load', () => {
  it('dumps to a .gz file and loads it into a new SQLite volume that reads the same', async () => {
    const file = join(dir, 'vol.jsonl.gz');
    const d = strata(['dump', source, file]);
    expect(d.code, d.err).toBe(0);
    expect(d.err).toMatch(/Dumped volume "cli" at version \d+: \d+ rows \(settings \d+, inodes 55,/);
    expect(gunzipSync(readFileSync(file)).toString().split('\n')[0]).toContain('"strata":"volume-dump"');
    const target = `sqlite3://${join(dir, 'copy.db')}`;
    const l = strata(['load', target, file]);
    expect(l.code, l.err).toBe(0);
    expect(l.err).toMatch(/Loaded volume "cli" at version \d+/);
    const copy = await Volume.open(target);
    expect(await copy.readFile('/d/e/f7', 'utf8')).toBe('file 7\n');
    expect(await copy.readlink('/d/link')).toBe('e/f1');
    await copy.close();
  });

  it('pipes: dump to standard output, load from standard input', () => {
    const d = strata(['dump', source]);
    expect(d.code, d.err).toBe(0);
    const l = strata(['load', `sqlite3://${join(dir, 'piped.db')}`], d.out);
    expect(l.code, l.err).toBe(0);
  });

  it('refuses clearly and leaves nothing: a volume that is not there, a cut dump, a target in use', () => {
    const missing = strata(['dump', `sqlite3://${join(dir, 'nothing.db')}`, join(dir, 'x.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no Strata volume|format one first/);
    expect(existsSync(join(dir, 'x.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'x.jsonl.part'))).toBe(false);

    const whole = strata(['dump', source]).out.toString().split('\n');
    const cut = Buffer.from(whole.slice(0, -3).join('\n'));
    const target = `sqlite3://${join(dir, 'cut.db')}`;
    const r = strata(['load', target], cut);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cut short/);
    const again = strata(['status', target]);
    expect(again.code).toBe(1);

    const busy = strata(['load', source], Buffer.from(whole.join('\n')));
    expect(busy.code).toBe(1);
    expect(busy.err).toMatch(/already holds a volume/);
  });
});
