// Directory entries shaped like node:fs Dirent.
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../vfs/constants.js';

export class Dirent {
  readonly name: string;
  readonly parentPath: string;
  /** Deprecated alias of parentPath, kept because Node 20 still has it. */
  readonly path: string;
  readonly #type: number;

  constructor(name: string, parentPath: string, mode: number) {
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.#type = mode & S_IFMT;
  }

  isFile(): boolean { return this.#type === S_IFREG; }
  isDirectory(): boolean { return this.#type === S_IFDIR; }
  isSymbolicLink(): boolean { return this.#type === S_IFLNK; }
  isFIFO(): boolean { return this.#type === S_IFIFO; }
  isSocket(): boolean { return this.#type === S_IFSOCK; }
  isCharacterDevice(): boolean { return this.#type === S_IFCHR; }
  isBlockDevice(): boolean { return this.#type === S_IFBLK; }
}
