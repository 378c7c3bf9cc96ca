// How the CLI prints: aligned key/value blocks and tables on stdout, errors on stderr.
import { formatSize } from '../config/size.js';

export { formatSize };

export function printFields(title: string, fields: [string, string | number][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  process.stdout.write(`${title}\n`);
  for (const [k, v] of fields) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
}

export function printRows(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const r of cells) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`);
}

/** A size for people to read (rounded): 512 B, 270.0 KiB, 1.5 GiB. */
export function humanSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let v = bytes;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}
