// strata config: change the settings an existing volume may change.
import type { Command } from 'commander';
import { openMeta, type SettingsChange } from '../../meta/index.js';
import { canonicalStorageUrl } from '../../object/open.js';
import { size, wholeNumber } from '../parse.js';

interface ConfigFlags {
  trashDays?: number;
  capacity?: number;
  inodes?: number;
  changelogRetention?: number;
  storage?: string;
  force?: boolean;
}

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('change settings of an existing volume (prints what changed)')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .option('--trash-days <days>', 'days deleted files stay in .trash (0 disables)', wholeNumber('--trash-days', 36_500))
    .option('--capacity <size>', 'capacity, e.g. 100G (0 = unlimited)', size('--capacity'))
    .option('--inodes <count>', 'maximum number of files (0 = unlimited)', wholeNumber('--inodes'))
    .option('--changelog-retention <versions>', 'change-log entries to keep', wholeNumber('--changelog-retention'))
    .option('--storage <url>', 'new storage URL (after moving the objects); needs --force')
    .option('--force', 'confirm a storage change')
    .action(async (metaUrl: string, flags: ConfigFlags) => {
      const change: SettingsChange = {
        trashDays: flags.trashDays, capacity: flags.capacity, inodeLimit: flags.inodes, changelogRetention: flags.changelogRetention,
      };
      if (flags.storage !== undefined) {
        if (!flags.force) throw Object.assign(new Error('changing --storage needs --force (move the objects there first)'), { exitCode: 2 });
        change.storage = canonicalStorageUrl(flags.storage);
      }
      if (Object.values(change).every((v) => v === undefined)) {
        throw Object.assign(new Error('nothing to change: give at least one of --trash-days, --capacity, --inodes, --changelog-retention, --storage'), { exitCode: 2 });
      }
      const meta = await openMeta(metaUrl);
      try {
        const changed = await meta.configure(change);
        process.stdout.write(changed.length === 0 ? 'Nothing changed: the volume already has these settings.\n' : `Changed:\n${changed.map((c) => `  ${c}\n`).join('')}`);
      } finally {
        await meta.close();
      }
    });
}
