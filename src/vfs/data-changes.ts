// The metadata calls that change a file's bytes or length, named once. The vfs wraps its Meta so
// that it hears of every such call its own clients make — SDK, mount, gateway or CLI, through
// the vfs or around it — and what it keeps about open files never outlives a local change.
import type { MetaPort } from './meta-port.js';

/** Meta methods whose first argument is an inode whose data they change. */
const DATA_CHANGES: ReadonlySet<PropertyKey> = new Set<keyof MetaPort>(['setattr', 'truncate', 'punchHole', 'fallocate', 'commitSlice', 'appendSlice', 'cloneRanges', 'attachObject', 'compactChunk']);

/** `meta`, calling `changed(ino)` as each data change starts and again once it has settled (a
 * read that overlapped it must not keep what it saw). */
export function watchDataChanges(meta: MetaPort, changed: (ino: number) => void): MetaPort {
  return new Proxy(meta, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // The engine keeps private state: its methods run on the engine itself, not on the proxy.
      if (!DATA_CHANGES.has(prop)) return value.bind(target);
      return async (ino: number, ...rest: unknown[]) => {
        changed(ino);
        try {
          return await value.call(target, ino, ...rest);
        } finally {
          changed(ino);
        }
      };
    },
  });
}
