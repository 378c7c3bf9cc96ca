// Throwaway Redis servers for tests: each on a free loopback port, in a temp directory, stopped and
// started again on the same port to play an outage. Its data survives that (it is saved on stop,
// as a real server's would be), so a test sees exactly what was delivered.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../bench/servers.js';
import { need, type Need } from './require.js';

export interface TestRedis extends Need {
  /** A new server (call check() first). */
  start(): Promise<RedisServer>;
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT/DB */
  url(db?: number): string;
  /** Save and stop (an outage): connections are refused until start(). */
  stop(): Promise<void>;
  /** Start again on the same port, with the data it had when stopped. */
  start(): Promise<void>;
  /** Stop for good and remove its directory. */
  remove(): Promise<void>;
}

function redisBinary(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin'];
  for (const dir of dirs) if (existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  return null;
}

export function testRedis(): TestRedis {
  const binary = redisBinary();
  const needed = need('Redis', binary === null ? 'redis-server is not on PATH nor in /usr/bin (Debian package redis-server)' : null);
  return {
    ...needed,
    async start() {
      needed.check();
      const server = new Server(binary!, mkdtempSync(join(tmpdir(), 'strata-redis-')), await freePort());
      await server.start();
      return server;
    },
  };
}

/** Send one inline command and read the first line of the answer (enough for PING and SHUTDOWN). */
function command(port: number, words: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no answer within 2 s')));
    socket.on('connect', () => socket.write(`${words.join(' ')}\r\n`));
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
      if (answer.includes('\r\n')) {
        socket.end();
        resolve(answer.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
    // SHUTDOWN answers by closing the connection.
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
  });
}

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

class Server implements RedisServer {
  #child: ChildProcess | null = null;
  #log = '';
  readonly #killOnExit = (): void => { this.#child?.kill('SIGKILL'); };

  constructor(private readonly binary: string, private readonly dir: string, readonly port: number) {}

  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    this.#log = '';
    const child = spawn(this.binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { this.#log += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { this.#log += d.toString(); });
    this.#child = child;
    // A test worker that dies must not leave a server behind.
    process.once('exit', this.#killOnExit);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!running(child)) {
        this.#forget();
        throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}): ${this.#log.slice(-2000)}`);
      }
      if (await command(this.port, ['PING']).then((a) => a === '+PONG', () => false)) return;
      if (Date.now() > deadline) {
        await this.#kill();
        throw new Error(`redis-server did not answer within 10 s: ${this.#log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (!running(child)) return this.#forget();
    const gone = new Promise((r) => child.once('exit', r));
    // With --save '' a plain SIGTERM would lose the data: SHUTDOWN SAVE writes it to dump.rdb.
    await command(this.port, ['SHUTDOWN', 'SAVE']).catch(() => undefined);
    const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(late);
    this.#forget();
  }

  async remove(): Promise<void> {
    await this.#kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (running(child)) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    this.#forget();
  }

  #forget(): void {
    process.off('exit', this.#killOnExit);
    this.#child = null;
  }
}
