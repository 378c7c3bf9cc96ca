#!/usr/bin/env node
// The strata command line. Exit codes: 0 success, 1 the operation failed, 2 bad usage (unknown
// command or flag, bad option value).
import { Command, CommanderError } from 'commander';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerFormat } from './commands/format.js';
import { registerInfo } from './commands/info.js';
import { registerMount } from './commands/mount.js';
import { registerStats } from './commands/stats.js';
import { registerGateway } from './commands/gateway.js';
import { registerBench } from './commands/bench.js';
import { registerObjbench } from './commands/objbench.js';
import { registerWarmup } from './commands/warmup.js';
import { registerGc } from './commands/gc.js';
import { registerFsck } from './commands/fsck.js';
import { registerCompact } from './commands/compact.js';
import { registerImport } from './commands/import.js';
import { registerRmr } from './commands/rmr.js';
import { registerStatus } from './commands/status.js';
import { registerTrash } from './commands/trash.js';
import { registerIam } from './commands/iam.js';
import { registerDump, registerLoad } from './commands/dump.js';
import { registerMirror } from './commands/mirror.js';
import { registerCacheServer } from './commands/cache-server.js';
import { registerEvents } from './commands/events.js';
import { closePool } from '../hotpath/pool.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function build(): Command {
  const program = new Command();
  program
    .name('strata')
    .description('Strata: a POSIX file system with data in object storage and metadata in a transactional engine')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `strata: ${s}` : s) });
  registerFormat(program);
  registerStatus(program);
  registerConfig(program);
  registerInfo(program);
  registerRmr(program);
  registerTrash(program);
  registerDump(program);
  registerLoad(program);
  registerMirror(program);
  registerDemo(program);
  registerMount(program);
  registerStats(program);
  registerGateway(program);
  registerIam(program);
  registerEvents(program);
  registerBench(program);
  registerObjbench(program);
  registerWarmup(program);
  registerGc(program);
  registerFsck(program);
  registerCompact(program);
  registerImport(program);
  registerCacheServer(program);
  // Sub-commands report errors the same way as the top level.
  const override = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  for (const c of program.commands) override(c);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = build();
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    const e = err as { message?: string; exitCode?: number; code?: string };
    process.stderr.write(`strata: ${e.message ?? String(err)}\n`);
    return typeof e.exitCode === 'number' ? e.exitCode : EXIT_FAILED;
  }
}

const code = await main(process.argv);
await closePool().catch(() => undefined);
process.exit(code);
