// The gateway's event-notification flags: targets (--notify, or the same lines in a file), events
// of changes made outside the gateway, and the queue's bound.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_QUEUE_MAX } from '../events/delivery.js';
import { parseTargetSpec, type TargetSpec } from '../events/targets/target.js';

export interface NotifyFlags {
  notify: string[];
  notifyConfig?: string;
  eventsFromVolume?: boolean;
  eventsQueueMax: number;
}

function queueMax(value: string): number {
  const n = Number(value);
  if (!/^\d{1,12}$/.test(value.trim()) || n < 1) throw new InvalidArgumentError(`--events-queue-max takes a whole number of at least 1, got "${value}".`);
  return n;
}

/** Checked by notifyOptions, not here: commander would repeat the whole argument, password and all. */
function spec(value: string, previous: string[]): string[] {
  return previous.concat(value);
}

export function addNotifyFlags(cmd: Command): Command {
  return cmd
    .option('--notify <TYPE:ID=URL>', 'send bucket event notifications to a target (redis, postgres, mysql, webhook), named by rules as arn:strata:sqs::ID:TYPE; `${VAR}` in the URL is read from the environment; repeatable', spec, [] as string[])
    .option('--notify-config <file>', 'more --notify targets, one TYPE:ID=URL per line (# starts a comment)')
    .option('--events-from-volume', 'also publish files created, changed and deleted through mounts and SDK clients (from the change log) as events')
    .option('--events-queue-max <n>', 'events a target\'s queue keeps while it is down; beyond, the oldest are dropped and counted', queueMax, DEFAULT_QUEUE_MAX);
}

/** The targets the flags name; an unreadable file or a bad line is an error naming its line. */
export function notifyOptions(flags: NotifyFlags): { notify: TargetSpec[]; eventsFromVolume: boolean; eventQueueMax: number } {
  const lines: { text: string; where: string }[] = flags.notify.map((text) => ({ text, where: '--notify' }));
  if (flags.notifyConfig !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.notifyConfig, 'utf8');
    } catch (err) {
      throw Object.assign(new Error(`--notify-config: cannot read ${flags.notifyConfig}: ${(err as Error).message}`), { exitCode: 2 });
    }
    text.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) lines.push({ text: t, where: `${flags.notifyConfig}:${i + 1}` });
    });
  }
  const notify: TargetSpec[] = [];
  for (const { text, where } of lines) {
    let s: TargetSpec;
    try {
      s = parseTargetSpec(text);
    } catch (err) {
      throw Object.assign(new Error(`${where}: ${(err as Error).message}`), { exitCode: 2 });
    }
    if (notify.some((n) => n.id === s.id)) throw Object.assign(new Error(`${where}: a second target with id "${s.id}"; each target needs its own id`), { exitCode: 2 });
    notify.push(s);
  }
  if (flags.eventsFromVolume && notify.length === 0) {
    throw Object.assign(new Error('--events-from-volume needs at least one --notify target to send the events to'), { exitCode: 2 });
  }
  return { notify, eventsFromVolume: flags.eventsFromVolume ?? false, eventQueueMax: flags.eventsQueueMax };
}
