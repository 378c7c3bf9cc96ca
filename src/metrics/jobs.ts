// Counters of the one-shot jobs (warmup, import): each job counts into its own process's registry
// and prints the totals when it ends, so a run's numbers read the same as a scrape would.
import { counter, registry } from './registry.js';

export const warmupCounters = {
  dirs: counter('strata_warmup_dirs_total', 'Directories walked by warmup', ['volume']),
  files: counter('strata_warmup_files_total', 'Files whose blocks warmup took', ['volume']),
  blocks: counter('strata_warmup_blocks_total', 'Blocks warmup handled, by result: fetched, cached (already there), failed', ['volume', 'result']),
  bytes: counter('strata_warmup_bytes_total', 'Bytes of blocks warmup fetched into the cache', ['volume']),
};

export const importCounters = {
  files: counter('strata_import_files_total', 'Objects import handled, by result: imported, skipped, failed', ['volume', 'result']),
  bytes: counter('strata_import_bytes_total', 'Bytes of the objects import handled, by result', ['volume', 'result']),
};

/** One line of `name{labels}=value` for every series of the metrics whose names start with
 * `prefix` (what a job prints at its end). */
export async function totalsLine(prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const m of await registry.getMetricsAsJSON()) {
    if (!m.name.startsWith(prefix)) continue;
    for (const v of m.values) {
      const labels = Object.entries(v.labels).filter(([k]) => k !== 'volume').map(([k, x]) => `${k}="${String(x)}"`).join(',');
      parts.push(`${m.name}${labels ? `{${labels}}` : ''}=${v.value}`);
    }
  }
  return parts.join(' ');
}
