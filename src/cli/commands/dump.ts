// strata dump / strata load: move a volume's metadata between engines (or keep a backup) as a
// stream of JSON lines; a FILE ending in .gz is compressed. Both show progress on a terminal and
// end with a summary; a dump cut short is refused by load, and a failed load leaves the target
// empty (it loads in one transaction).
import type { Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { parseMetaUrl, redactUrl } from '../../config/urls.js';
import { dumpVolume, loadVolume, type DumpCounts, type DumpHeader } from '../../meta/sql/dump.js';
import { openDriver } from '../../meta/sql/open.js';
import { isSealed } from '../../object/s3-credentials.js';
import { newProgress } from '../progress.js';

function summary(verb: string, where: string, d: DumpHeader & DumpCounts): string {
  const rows = Object.values(d.rows).reduce((a, b) => a + b, 0);
  const lines = [`${verb} volume "${d.volume}" at version ${d.version}: ${rows} rows (${Object.entries(d.rows).map(([t, n]) => `${t} ${n}`).join(', ')}) ${where}`];
  if (d.omitted.length > 0) lines.push(`left out: ${d.omitted.join(', ')} (stored in plaintext; give the loaded volume its credentials again with "strata format ... --access-key --secret-key")`);
  return `${lines.join('\n')}\n`;
}

/** Write lines to `out`, honouring backpressure. */
async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

export function registerDump(program: Command): void {
  program
    .command('dump')
    .description('write a volume\'s metadata (settings, tree, attributes, xattrs, chunks and slices, references, trash) as JSON lines, from one consistent snapshot')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db or postgres://user:pass@host/db')
    .argument('[file]', 'where to write (default: standard output); .gz compresses')
    .action(async (metaUrl: string, file: string | undefined) => {
      const { driver, empty } = await openDriver(parseMetaUrl(metaUrl));
      // Written next to its final name and renamed at the end: a failed dump leaves no file that
      // looks whole.
      const temp = file ? `${file}.part` : null;
      try {
        if (empty) throw Object.assign(new Error(`${redactUrl(metaUrl)} holds no Strata volume`), { code: 'ENOENT' });
        const sink = temp ? createWriteStream(temp, { mode: 0o600 }) : process.stdout;
        const gz = file?.endsWith('.gz') ? createGzip() : null;
        if (gz) gz.pipe(sink);
        const out: Writable = gz ?? sink;
        let bar = newProgress('dumping rows', 0);
        const result = await dumpVolume(driver, (line) => writeLine(out, line), {
          // Sealed credentials stay sealed in the dump; plaintext ones never leave the volume.
          keepSecret: (_name, value) => isSealed(value),
          total: (n) => { bar = newProgress('dumping rows', n); },
          progress: (n) => bar.update(n),
        });
        bar.stop();
        if (temp) {
          out.end();
          await once(sink, 'close');
          await rename(temp, file!);
        }
        process.stderr.write(summary('Dumped', file ? `to ${file}` : 'to standard output', result));
      } catch (err) {
        if (temp) await rm(temp, { force: true });
        throw err;
      } finally {
        await driver.close();
      }
    });
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load a dump into an empty metadata database of any kind: the same volume, inode numbers and slices (no object is copied)')
    .argument('<meta-url>', 'metadata URL of an empty database, e.g. postgres://user:pass@host/db')
    .argument('[file]', 'the dump (default: standard input); .gz is decompressed')
    .action(async (metaUrl: string, file: string | undefined) => {
      const raw: Readable = file ? createReadStream(file) : process.stdin;
      const size = file ? (await stat(file)).size : 0;
      const bar = newProgress('loading bytes', size);
      let read = 0;
      raw.on('data', (chunk: Buffer) => bar.update((read += chunk.length)));
      const input = file?.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
      const { driver } = await openDriver(parseMetaUrl(metaUrl), { create: true });
      try {
        const result = await loadVolume(driver, createInterface({ input, crlfDelay: Infinity }));
        bar.stop();
        process.stderr.write(summary('Loaded', `into ${redactUrl(metaUrl)}`, result));
      } finally {
        bar.stop();
        await driver.close();
      }
    });
}
