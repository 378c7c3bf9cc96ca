// A script in a node process of its own, for what a test's own process cannot show: vitest keeps
// its event loop busy, so whether a process exits, or ends too early, shows only in another one.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/hotpath/locate.js';

/** The import URL of a built module, e.g. builtModule('src', 'meta', 'index.js'). */
export function builtModule(...parts: string[]): string {
  return pathToFileURL(join(packageRoot(), 'dist', ...parts)).href;
}

/** Run `script` as an ES module (node --input-type=module -e, a flag worker threads inherit). A
 * process still running after 20 s is killed, and this rejects, as it does on a non-zero exit. */
export function nodeAlone(script: string): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
}
