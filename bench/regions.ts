// Regions on one machine, for the mirror tests and bench/mirror. Region A holds the primary: its
// metadata on a PostgreSQL database and its blocks on an s3rver process. Each mirror region has
// its own SQLite metadata, its own s3rver process, and its replicator (`strata mirror run`) as
// a process of its own; everything it sends to region A — metadata and blocks — goes through
// delaying TCP proxies (delay-proxy.ts), `delayMs` each way. Clients are processes too
// (mirror-client.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Volume } from '../src/index.js';
import { packageRoot } from '../src/hotpath/locate.js';
import { PRIMARY_ENV } from '../src/mirror/primary.js';
import { createMirrorVolume } from '../src/sdk/mirror.js';
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY } from '../test/helpers/s3rver.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { startS3rverProcess, type S3rverProcess } from './s3rver-process.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const CLIENT = join(packageRoot(), 'dist', 'bench', 'mirror-client.js');

export interface MirrorRegion {
  name: string;
  /** The mirror's metadata URL. */
  meta: string;
  /** The primary's metadata URL as this region reaches it (through its proxy), with the password. */
  primary: string;
  /** The links to region A (metadata, blocks). */
  links: DelayProxy[];
  replicator: ChildProcess | null;
  startReplicator(): void;
  stopReplicator(): Promise<void>;
}

export interface Regions {
  primary: string;
  mirrors: MirrorRegion[];
  stop(): Promise<void>;
}

/** `postgres://user:pass@host:PORT/db` with another port. */
function viaPort(url: string, port: number): string {
  return url.replace(/@([^:/]+):(\d+)\//, (_m, host: string) => `@${host}:${port}/`);
}

const exited = (p: ChildProcess) => new Promise<void>((res) => (p.exitCode !== null || p.signalCode !== null ? res() : p.once('exit', () => res())));

export async function startRegions(options: { primaryMeta: string; work: string; mirrors: string[]; delayMs: number; blockSize?: number }): Promise<Regions> {
  const servers: S3rverProcess[] = [];
  const links: DelayProxy[] = [];
  const mirrors: MirrorRegion[] = [];
  const stopAll = async () => {
    for (const m of mirrors) await m.stopReplicator();
    await Promise.allSettled([...links.map((l) => l.stop()), ...servers.map((s) => s.stop())]);
  };
  try {
    const storeA = await startS3rverProcess(['primary']);
    servers.push(storeA);
    await Volume.format(options.primaryMeta, {
      name: 'regions', storage: `${storeA.endpoint}/primary`, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY,
      trashDays: 0, blockSize: options.blockSize,
    });
    const pgPort = Number(/@[^:/]+:(\d+)\//.exec(options.primaryMeta)![1]);
    for (const name of options.mirrors) {
      const metaLink = await startDelayProxy({ targetPort: pgPort, delayMs: options.delayMs });
      const storeLink = await startDelayProxy({ targetPort: storeA.port, delayMs: options.delayMs });
      links.push(metaLink, storeLink);
      const own = await startS3rverProcess(['mirror']);
      servers.push(own);
      const meta = `sqlite3://${join(options.work, `${name}.db`)}`;
      const primary = viaPort(options.primaryMeta, metaLink.port);
      await createMirrorVolume(primary, meta, {
        storage: `${own.endpoint}/mirror`, accessKey: S3RVER_ACCESS_KEY, secretKey: S3RVER_SECRET_KEY,
        primaryStorage: `http://127.0.0.1:${storeLink.port}/primary`,
      });
      const region: MirrorRegion = {
        name, meta, primary, links: [metaLink, storeLink], replicator: null,
        startReplicator() {
          // Its progress lines go to a log next to the mirror, not into the test's output.
          const log = openSync(join(options.work, `${name}-replicator.log`), 'a');
          this.replicator = spawn(process.execPath, [CLI, 'mirror', 'run', meta], { env: { ...process.env, [PRIMARY_ENV]: primary }, stdio: ['ignore', log, log] });
          closeSync(log);
        },
        async stopReplicator() {
          const r = this.replicator;
          this.replicator = null;
          if (!r) return;
          r.kill('SIGTERM');
          await exited(r);
        },
      };
      region.startReplicator();
      mirrors.push(region);
    }
    return { primary: options.primaryMeta, mirrors, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export interface RegionClient {
  ask<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** A client process on `meta` (a mirror, with mirror writes when `writes`; or the primary). */
export function startRegionClient(meta: string, primary: string | null, writes: boolean): RegionClient {
  const env = { ...process.env, ...(primary ? { [PRIMARY_ENV]: primary } : {}) };
  const proc = spawn(process.execPath, [CLIENT, meta, ...(writes ? ['--mirror-writes'] : [])], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  let queue = Promise.resolve();
  return {
    ask<T>(command: Record<string, unknown>): Promise<T> {
      const answer = queue.then(async () => {
        proc.stdin!.write(`${JSON.stringify(command)}\n`);
        const next = await lines.next();
        if (next.done) throw new Error(`the region client on ${meta} exited (${proc.exitCode ?? proc.signalCode})`);
        const parsed = JSON.parse(next.value as string) as T & { error?: string };
        if (parsed.error) throw Object.assign(new Error(parsed.error), parsed);
        return parsed as T;
      });
      queue = answer.then(() => undefined, () => undefined);
      return answer;
    },
    async close() {
      proc.stdin!.end(`${JSON.stringify({ cmd: 'exit' })}\n`);
      await exited(proc);
    },
  };
}
