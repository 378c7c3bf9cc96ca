// A python3 process that runs one JSON command per line (helpers/agent.py) and holds descriptors
// and locks between them: several of them are several independent processes on a mount.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const HELPERS = join(dirname(fileURLToPath(import.meta.url)), 'helpers');

type Reply = Record<string, unknown> & { err?: string };

/** A python3 process that runs one JSON command per line (helpers/agent.py). */
export class Agent {
  readonly proc: ChildProcess;
  readonly #replies: string[] = [];
  readonly #waiting: ((line: string) => void)[] = [];
  #stderr = '';

  private constructor() {
    this.proc = spawn('python3', [join(HELPERS, 'agent.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => { this.#stderr += d.toString(); });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const w = this.#waiting.shift();
      if (w) w(line);
      else this.#replies.push(line);
    });
  }

  static async start(): Promise<Agent> {
    const a = new Agent();
    const hello = JSON.parse(await a.#next()) as { ready: number };
    expect(hello.ready).toBe(a.proc.pid);
    return a;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  #next(): Promise<string> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`agent ${this.proc.pid} exited: ${this.#stderr}`));
      this.proc.once('exit', onExit);
      this.#waiting.push((line) => {
        this.proc.off('exit', onExit);
        resolve(line);
      });
    });
  }

  /** Send a command; the reply arrives when the agent answers (blocking calls answer late). */
  call(cmd: Record<string, unknown>): Promise<Reply> {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return this.#next().then((l) => JSON.parse(l) as Reply);
  }

  async open(path: string, flags = 'r'): Promise<number> {
    const r = await this.call({ op: 'open', path, flags });
    if (r.err) throw new Error(`agent open ${path}: ${r.err}`);
    return r.fd as number;
  }

  async exit(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin!.end();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await gone;
    }
  }

  async kill(): Promise<void> {
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

