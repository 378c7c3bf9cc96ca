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

export function sampleVolume(volume: string, meta: Meta, objects: ObjectStore): () => void {
  const v = { volume };
  const stops = [sessions.add(v, async () => (await meta.sessions()).length)];
  if (objects instanceof WritebackObjectStore) {
    stops.push(stagedBytes.add(v, () => objects.stats().stagedBytes), stagedObjects.add(v, () => objects.stats().stagedObjects),
      uploadErrors.add(v, () => objects.stats().uploadErrors));
  }
  return () => { for (const stop of stops) stop(); };
}
