// strata events status META_URL: the event-notification queue of a volume — per target, what
// waits, since when, and what was delivered, failed and dropped — and the reader of the change
// log that turns mount and SDK changes into events.
import type { Command } from 'commander';
import { VOLUME_EVENTS_CONSUMER } from '../../events/volume-events.js';
import { openMeta } from '../../meta/index.js';
import { ago, formatTime, printRows } from '../output.js';

export function registerEvents(program: Command): void {
  const events = program.command('events').description('bucket event notifications of a volume');
  events
    .command('status')
    .description('targets, queue depth, oldest pending event, delivered, failed and dropped counts')
    .argument('<meta-url>', 'metadata URL')
    .option('--json', 'print JSON')
    .action(async (metaUrl: string, flags: { json?: boolean }) => {
      const meta = await openMeta(metaUrl);
      try {
        const stats = await meta.eventStats();
        const now = Date.now();
        const reader = (await meta.consumers()).find((c) => c.name === VOLUME_EVENTS_CONSUMER);
        const version = await meta.version();
        const fromVolume = reader ? { applied: reader.applied, behind: version - reader.applied } : null;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({
            targets: stats.map((s) => ({ ...s, oldestAgeMs: s.oldestMs === null ? null : now - s.oldestMs, delivering: s.untilMs > now ? s.holder : null })),
            fromVolume,
          }, null, 2)}\n`);
          return;
        }
        if (stats.length === 0) process.stdout.write('No event notification has been queued on this volume.\n');
        else {
          printRows(['target', 'queued', 'oldest pending', 'delivered', 'failed', 'dropped', 'delivered by'], stats.map((s) => [
            s.target, s.depth, s.oldestMs === null ? '-' : `${formatTime(s.oldestMs)} (${ago(s.oldestMs)})`,
            s.delivered, s.failed, s.dropped, s.untilMs > now ? s.holder : '(nobody now)',
          ]));
        }
        if (fromVolume) process.stdout.write(`events from mounts and SDK clients: change log read to version ${fromVolume.applied} (${fromVolume.behind} behind)\n`);
      } finally {
        await meta.close();
      }
    });
}
