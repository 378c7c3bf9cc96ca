// Cache-group members as processes of their own (`strata cache-server`), as the cache-group bench
// and tests need them: each with its own cache directory, on a free loopback port.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CacheMember {
  address: string;
  id: string;
  cacheDir: string;
  child: ChildProcess;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM (leaves the group), or SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export interface CacheMemberOptions {
  metaUrl: string;
  group: string;
  cacheDir: string;
  backup?: boolean;
  weight?: number;
  /** Extra flags (e.g. ['--cache-size', '1']). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

function cliPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(join('dist', 'bench')) ? join(here, '..', 'src', 'cli', 'main.js') : join(here, '..', 'dist', 'src', 'cli', 'main.js');
}

export async function startCacheMember(o: CacheMemberOptions): Promise<CacheMember> {
  const args = ['cache-server', o.metaUrl, '--cache-group', o.group, '--cache-dir', o.cacheDir, '--listen', '127.0.0.1:0', '--group-heartbeat', '0.2',
    ...(o.backup ? ['--group-backup'] : []), ...(o.weight ? ['--group-weight', String(o.weight)] : []), ...(o.args ?? [])];
  const child = fork(cliPath(), args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: o.env ?? process.env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = await new Promise<{ listening: string; member: string }>((resolve, reject) => {
    child.once('message', (m: { listening: string; member: string }) => resolve(m));
    child.once('exit', (code) => reject(new Error(`cache-server exited (${code}) before it served: ${stderr.trim()}`)));
  });
  return {
    address: ready.listening, id: ready.member, cacheDir: o.cacheDir, child,
    signal(sig) {
      child.kill(sig);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
