// Shared output for bench/ scripts: an aligned table on stdout and the same rows as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { renderTablesSvg, type ChartTable } from '../src/charts/table-chart.js';

export type Row = Record<string, string | number>;

/** The tables printed so far: writeJson charts them. */
const printed: ChartTable[] = [];

export function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  printed.push({ title, rows });
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number | undefined) => (v === undefined ? '' : typeof v === 'number' ? fmt(v) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Write `data` as bench/results/NAME.json and, next to it, NAME.svg: a chart of the tables
 * printed since the last call. Returns the JSON's path. */
export async function writeJson(root: string, name: string, data: unknown): Promise<string> {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  const svg = await renderTablesSvg(printed.splice(0), `bench ${name}: ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`);
  if (svg) {
    writeFileSync(join(dir, `${name}.svg`), svg);
    console.log(`chart: ${join(dir, `${name}.svg`)}`);
  }
  return file;
}

/** Median of `rounds` timings of fn (ms), after one warm-up call. */
export async function medianMs(rounds: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

/** The middle value (the upper of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** A progress bar on stderr (plain lines when stderr is not a terminal, e.g. in CI logs). */
export function progressBar(label: string, total: number): { tick(n?: number): void; stop(): void } {
  if (!process.stderr.isTTY) {
    let done = 0;
    return {
      tick(n = 1) { done += n; },
      stop() { process.stderr.write(`${label}: ${done}/${total} done\n`); },
    };
  }
  const bar = new SingleBar({ format: `${label.padEnd(30)} [{bar}] {value}/{total} {duration_formatted}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  bar.start(total, 0);
  return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
}

/** A whole-number setting from the environment (`dflt` when unset); anything else stops the bench
 * with the variable's name. */
export function envInt(name: string, dflt: number, min = 1): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

/** The part of a node:fs/promises FileHandle (and of Strata's) that the workloads use. */
export interface BenchHandle {
  write(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesWritten: number }>;
  read(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The part of node:fs/promises (and of a Strata Volume) that the workloads use. */
export interface BenchFs {
  open(path: string, flags: string): Promise<BenchHandle>;
  writeFile(path: string, data: Buffer): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<{ size: number }>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<unknown>;
  rmdir(path: string): Promise<void>;
}
