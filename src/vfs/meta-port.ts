// What the vfs needs from metadata: the Meta seam itself (vfs/ is the only layer above meta/
// that knows POSIX rules; Meta already speaks inodes, ns times and errno).
import type { AttrChanges, DirEntry, Meta, NewNode, StatFs } from '../meta/meta.js';

export type MetaPort = Meta;
export type { AttrChanges, NewNode };
export type PortDirEntry = DirEntry;
export type PortStatFs = StatFs;
