// Other clients' changes, as this mount learns of them: the volume's version moves with every
// committed change, whoever made it. Polled so that what the native core answers without asking
// JS (attributes and names) never lags another client's change by more than the period.
import type { Meta } from '../meta/meta.js';

export interface VolumeChangeListener {
  /** The version moved, or could not be read: nothing known before may be trusted. */
  changed(): void;
  /** The version was read and nothing known before is stale (called after changed() if it moved). */
  current(): void;
}

/** Poll `meta`'s version every `periodMs`. Returns a function that stops polling. */
export function watchVolumeChanges(meta: Pick<Meta, 'version'>, periodMs: number, listener: VolumeChangeListener): () => void {
  // Unknown at first, and after a failed read: what was recorded meanwhile may be stale.
  let last: number | null = null;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    meta.version().then((v) => {
      if (v !== last) listener.changed();
      last = v;
      listener.current();
    }, () => {
      last = null;
      listener.changed();
    }).finally(() => { busy = false; });
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
