// Starting s3rver (object-s3rver.ts) in a process of its own, as benches and the region tests
// need it: a server with its own event loop, on a free loopback port, with buckets made.
import { fork, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3rverReady } from './object-s3rver.js';

export interface S3rverProcess {
  endpoint: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}

export async function startS3rverProcess(buckets: string[]): Promise<S3rverProcess> {
  // Compiled next to this file (dist/bench) whether this runs from dist or from the sources.
  const here = dirname(fileURLToPath(import.meta.url));
  const script = here.includes(`${join('dist', 'bench')}`) ? join(here, 'object-s3rver.js') : join(here, '..', 'dist', 'bench', 'object-s3rver.js');
  const child: ChildProcess = fork(script, buckets, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<S3rverReady>((resolve, reject) => {
    child.once('message', (m: S3rverReady | { error: string }) => ('ready' in m ? resolve(m) : reject(new Error(`s3rver: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before it was ready`)));
    child.once('error', reject);
  });
  const { endpoint, port, directory } = ready;
  return {
    endpoint, port, directory,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        if (child.connected) child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
