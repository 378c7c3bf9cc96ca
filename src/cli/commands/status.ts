// strata status: settings, sessions, usage and versions of a volume, straight from metadata.
import type { Command } from 'commander';
import { openMeta } from '../../meta/index.js';
import { describeStoredCredentials } from '../../object/s3-credentials.js';
import { ago, formatSize, formatTime, humanSize, printFields, printRows } from '../output.js';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { stagingDir } from '../../sdk/backends.js';
import { defaultCacheDir } from '../../sdk/volume.js';
import { TEMP_PREFIX } from '../../object/file.js';

/** Blocks staged by write-back under `cacheDir` and not uploaded yet (on this host). */
async function stagedIn(cacheDir: string, uuid: string): Promise<{ dir: string; blocks: number; bytes: number }> {
  const dir = stagingDir(cacheDir, uuid);
  let blocks = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!e.isFile() || e.name.startsWith(TEMP_PREFIX)) continue;
    const st = await stat(join(e.parentPath, e.name)).catch(() => null);
    if (!st) continue;
    blocks++;
    bytes += st.size;
  }
  return { dir, blocks, bytes };
}

export async function printStatus(metaUrl: string, json: boolean, cacheDirs: string[] = [defaultCacheDir()]): Promise<void> {
  const meta = await openMeta(metaUrl);
  try {
    const [s, usage, sessions, version, oldest, groupNames] = await Promise.all([
      meta.settings(), meta.usage(), meta.sessions(), meta.version(), meta.oldestVersion(), meta.groupNames(),
    ]);
    const groups = await Promise.all(groupNames.map(async (name) => ({ name, members: await meta.groupMembers(name) })));
    const staged = await Promise.all(cacheDirs.map((d) => stagedIn(d, s.uuid)));
    if (json) {
      // Stored credentials never leave the metadata: say only whether and how they are kept.
      const settings = { ...s, storageCredentials: describeStoredCredentials(s.storageCredentials) };
      process.stdout.write(`${JSON.stringify({ settings, usage, sessions, version, oldestLoggedVersion: oldest, staged, cacheGroups: groups }, null, 2)}\n`);
      return;
    }
    printFields(`Volume "${s.name}"`, [
      ['uuid', s.uuid],
      ['metadata', meta.url],
      ['storage', s.storage],
      ['credentials', describeStoredCredentials(s.storageCredentials)],
      ['block size', formatSize(s.blockSize)],
      ['trash days', s.trashDays],
      ['capacity', s.capacity > 0 ? formatSize(s.capacity) : 'unlimited'],
      ['inode limit', s.inodeLimit > 0 ? s.inodeLimit : 'unlimited'],
      ['created', formatTime(s.createdMs)],
      ['schema', s.schemaVersion],
    ]);
    printFields('Usage', [
      ['used', `${formatSize(usage.usedBytes)} (${usage.usedBytes} bytes)`],
      ['inodes', usage.inodes],
      ['slices to delete', usage.pendingSlices],
      ...staged.map((x): [string, string] => ['staged (write-back)', `${x.blocks} block${x.blocks === 1 ? '' : 's'}, ${humanSize(x.bytes)} not uploaded yet, in ${x.dir}`]),
    ]);
    printFields('Versions', [
      ['current', version],
      ['change log from', oldest === 0 ? '(empty)' : oldest],
      ['retention', `${s.changelogRetention} versions`],
    ]);
    process.stdout.write(`Sessions (${sessions.length})\n`);
    if (sessions.length > 0) {
      printRows(['  id', 'client', 'host', 'pid', 'started', 'heartbeat'], sessions.map((x) => [
        `  ${x.id}`, String(x.info.client ?? '-'), String(x.info.host ?? '-'), String(x.info.pid ?? '-'), formatTime(x.startedMs), ago(x.heartbeatMs),
      ]));
    }
    for (const g of groups) {
      process.stdout.write(`Cache group "${g.name}" (${g.members.length} member${g.members.length === 1 ? '' : 's'} registered)\n`);
      printRows(['  member', 'address', 'weight', 'backup', 'started', 'heartbeat'], g.members.map((m) => [
        `  ${m.id}`, m.address, String(m.weight), m.backup ? 'yes' : 'no', formatTime(m.startedMs), ago(m.heartbeatMs),
      ]));
    }
  } finally {
    await meta.close();
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show a volume\'s settings, usage, versions, live sessions and cache-group members')
    .argument('<meta-url>', 'metadata URL, e.g. sqlite3://./meta.db')
    .option('--json', 'print JSON instead of text')
    .option('--cache-dir <dirs>', 'cache directories whose write-back staging to report, colon-separated (default: the default cache directory)')
    .action(async (metaUrl: string, flags: { json?: boolean; cacheDir?: string }) => {
      await printStatus(metaUrl, flags.json === true, flags.cacheDir?.split(':').filter(Boolean));
    });
}
