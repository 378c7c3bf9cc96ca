// Running the built `strata` CLI as users run it: to completion, or alongside work this process
// keeps doing (a writer racing the command).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/hotpath/locate.js';

export const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

export interface CliResult { code: number | null; out: string; err: string }

export function strata(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** strata without blocking this process. */
export function strataAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}
