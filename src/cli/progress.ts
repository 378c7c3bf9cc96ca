// Progress for long CLI work: a bar on a terminal, nothing on a pipe (the summary line says it).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function newProgress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total < 2) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/** Progress of work whose size is not known up front (a store listing): a running count. */
export function newCountProgress(label: string, unit: string): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: `${label} {value} ${unit} {duration_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(0, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/** Progress of work whose total is known only once it starts (a tree walk's files): the bar
 * appears at the first unit done, sized to the total then. */
export function newLateProgress(label: string): { update(done: number, total: number): void; stop(): void } {
  let bar: Progress | null = null;
  return {
    update(done, total) {
      if (done === 0) return;
      bar ??= newProgress(label, total);
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}
