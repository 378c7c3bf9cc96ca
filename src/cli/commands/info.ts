// strata info: where a file's bytes live (inode, chunks, slices, object keys).
import type { Command } from 'commander';
import { openMeta } from '../../meta/index.js';
import { Volume } from '../../sdk/volume.js';
import { formatSize, printRows } from '../output.js';
import { wholeNumber } from '../parse.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the inode, chunks, slices and object keys of a file')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .argument('[path]', 'path inside the volume, e.g. /data/train.bin')
    .option('--inode <ino>', 'look the file up by inode number instead of path', wholeNumber('--inode'))
    .option('--json', 'print JSON instead of text')
    .action(async (metaUrl: string, path: string | undefined, flags: { inode?: number; json?: boolean }) => {
      if ((path === undefined) === (flags.inode === undefined)) {
        throw Object.assign(new Error('give either a PATH or --inode N'), { exitCode: 2 });
      }
      let info: { inode: number; length: number; chunks: { index: number; slices: { id: number; size: number; pos: number; off: number; len: number; keys: string[] }[] }[] };
      if (path !== undefined) {
        const vol = await Volume.open(metaUrl, { client: 'cli-info' });
        try {
          info = await vol.info(path);
        } finally {
          await vol.close();
        }
      } else {
        const meta = await openMeta(metaUrl);
        try {
          const ino = flags.inode as number;
          const attr = await meta.getattr(ino);
          const settings = await meta.settings();
          const chunks = await meta.chunks(ino);
          const keys = (id: number, size: number) => {
            const out: string[] = [];
            for (let i = 0; i * settings.blockSize < size; i++) {
              const len = Math.min(settings.blockSize, size - i * settings.blockSize);
              out.push(`chunks/${Math.floor(id / 1e6)}/${Math.floor(id / 1e3)}/${id}_${i}_${len}`);
            }
            return out;
          };
          info = { inode: ino, length: attr.size, chunks: chunks.map((c) => ({ index: c.index, slices: c.slices.map((s) => ({ ...s, keys: s.id === 0 ? [] : keys(s.id, s.size) })) })) };
        } finally {
          await meta.close();
        }
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${path ?? `inode ${info.inode}`}\n  inode   ${info.inode}\n  length  ${formatSize(info.length)} (${info.length} bytes)\n  chunks  ${info.chunks.length}\n`);
      const rows: (string | number)[][] = [];
      for (const c of info.chunks) {
        for (const s of c.slices) rows.push([`  ${c.index}`, s.id === 0 ? 'hole' : s.id, s.pos, s.len, s.off, s.keys.join(' ') || '-']);
      }
      if (rows.length > 0) printRows(['  chunk', 'slice', 'pos', 'len', 'off', 'objects'], rows);
    });
}
