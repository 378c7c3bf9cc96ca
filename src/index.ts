// Strata's package entry: the in-process SDK, shaped like node:fs/promises.
export { Volume, type VolumeOptions, type FormatOptions } from './sdk/volume.js';
export { FileHandle, type ReadResult, type WriteResult, type ReadOptions } from './sdk/file-handle.js';
export { Stats, BigIntStats } from './sdk/stats.js';
export { Dirent } from './sdk/dirent.js';
export { Dir } from './sdk/dir.js';
export type { StatFs, FileInfo } from './sdk/path-api.js';
export type { PathLike, OpenFlags, Mode, TimeLike } from './sdk/args.js';
export { StrataError } from './errors/errno.js';
