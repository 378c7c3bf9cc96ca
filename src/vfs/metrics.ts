// Bytes read and written through a volume, by entrypoint (fuse, sdk, gateway): counted once, in
// the vfs every entrypoint goes through.
import { counter } from '../metrics/registry.js';

export const readBytes = counter('strata_read_bytes_total', 'File bytes read, by entrypoint', ['volume', 'entrypoint']);
export const writtenBytes = counter('strata_write_bytes_total', 'File bytes written, by entrypoint', ['volume', 'entrypoint']);
