// Metrics of a volume as a whole, read when scraped: its live sessions (every client of the
// volume, from metadata) and what write-back has staged here and not uploaded yet.
import { Sampled } from '../metrics/registry.js';
import type { Meta } from '../meta/meta.js';
import type { ObjectStore } from '../object/store.js';
import { WritebackObjectStore } from '../object/writeback.js';

const vol = ['volume'] as const;
const sessions = new Sampled('gauge', 'strata_sessions', 'Live client sessions of the volume (all hosts)', vol, 'max');
const stagedBytes = new Sampled('gauge', 'strata_writeback_staged_bytes', 'Bytes written back locally and not yet uploaded', vol);
const stagedObjects = new Sampled('gauge', 'strata_writeback_staged_objects', 'Blocks written back locally and not yet uploaded', vol);
const uploadErrors = new Sampled('counter', 'strata_writeback_upload_errors_total', 'Background uploads that failed (each is tried again)', vol);

// Scrapes come every few seconds from every Prometheus that watches: the count is read at most
// this often, and a slow engine answers with the last count instead of holding the scrape.
const SESSIONS_EVERY_MS = 5_000;
const SESSIONS_WAIT_MS = 2_000;

function sessionCount(meta: Meta): () => Promise<number> {
  let last = { at: 0, value: Number.NaN };
  let reading: Promise<number> | null = null;
  return async () => {
    if (Date.now() - last.at < SESSIONS_EVERY_MS) return last.value;
    reading ??= meta.sessions().then(
      (list) => { last = { at: Date.now(), value: list.length }; return list.length; },
      () => last.value,
    ).finally(() => { reading = null; });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<number>((resolve) => { timer = setTimeout(() => resolve(last.value), SESSIONS_WAIT_MS); });
    try {
      return await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

export function sampleVolume(volume: string, meta: Meta, objects: ObjectStore): () => void {
  const v = { volume };
  const stops = [sessions.add(v, sessionCount(meta))];
  if (objects instanceof WritebackObjectStore) {
    stops.push(stagedBytes.add(v, () => objects.stats().stagedBytes), stagedObjects.add(v, () => objects.stats().stagedObjects),
      uploadErrors.add(v, () => objects.stats().uploadErrors));
  }
  return () => { for (const stop of stops) stop(); };
}
