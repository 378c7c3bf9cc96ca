// Path resolution on top of inode operations: search permission on every directory walked,
// '.' and '..', symlinks followed (ELOOP after SYMLOOP_MAX), trailing-slash rules, kernel limits.
import { errnoError } from '../errors/errno.js';
import type { Attr } from './attr.js';
import { isDir, isSymlink } from './attr.js';
import { ROOT_INODE, SYMLOOP_MAX, X_OK } from './constants.js';
import { parsePath, pathProblem } from './path.js';
import type { Caller } from './permissions.js';

/** The inode operations a walk needs (the Vfs provides them). */
export interface Walkable {
  getattr(ino: number): Promise<Attr>;
  /** Look `name` up in directory `dir` after checking search permission on it. */
  lookup(caller: Caller, dir: number, name: string): Promise<Attr>;
  /** Look `name` up in a directory whose attributes (and search permission) the walk already has. */
  lookupIn(dir: Attr, name: string): Promise<Attr>;
  /** Attributes of `dir` and of as many of `names` below it as exist, in one read. */
  lookupPath(dir: number, names: string[]): Promise<Attr[]>;
  readlink(caller: Caller, ino: number): Promise<string>;
  checkAccess(caller: Caller, attr: Attr, mask: number): boolean;
}

export interface Resolved {
  attr: Attr;
  /** The canonical absolute path reached (symlinks, '.' and '..' resolved). */
  realpath: string;
  /** The directory holding the last component (the root for '/'). */
  parent: Attr;
  name: string;
}

export interface ResolvedParent {
  parent: Attr;
  /** Last component ('' for the root itself). */
  name: string;
  trailingSlash: boolean;
  /** The path ended in '/.' (`name` is then the directory before it). */
  trailingDot: boolean;
  /** What `name` is in `parent`, read with the directories (null: absent then); undefined when
   * that read did not reach it (a symlink or '..' on the way, or `name` is '..' or before '/.'). */
  entry?: Attr | null;
}

/** Walks paths for one operation, counting symlinks across the whole walk like the kernel. */
export class PathWalker {
  #links = 0;
  /** Names of the directories on the walk's stack (below the root), for realpath. */
  #names: string[] = [];

  constructor(
    private readonly fs: Walkable,
    private readonly caller: Caller,
    private readonly syscall: string,
    private readonly path: string,
  ) {}

  #fail(code: string): never {
    throw errnoError(code, this.syscall, this.path);
  }

  /** Resolve every component but the last; the last is returned by name, not looked up. */
  async parentOf(): Promise<ResolvedParent> {
    const problem = pathProblem(this.path);
    if (problem) this.#fail(problem);
    const { parts, trailingSlash, trailingDot } = parsePath(this.path);
    // "a/." names the directory a itself: a missing or non-directory a fails like the kernel's
    // lookup of '.' in it (ENOENT, ENOTDIR) before any create or remove is considered.
    if (trailingDot) await this.resolve(true);
    const dirs = parts.slice(0, -1);
    // The last name is read along (it costs nothing more): callers that need it save a read.
    const leading = leadingNames(parts);
    const [root, ...prefetched] = await this.fs.lookupPath(ROOT_INODE, leading);
    const stack = [root];
    this.#names = [];
    if (parts.length === 0) return { parent: stack[0], name: '', trailingSlash: false, trailingDot: false };
    await this.#walk(stack, dirs, true, prefetched);
    const parent = stack[stack.length - 1];
    const name = parts[parts.length - 1];
    // The walk stayed on the line read at once (it entered the very directories read): what that
    // read found under the parent is the name's entry.
    const straight = leading.length === parts.length && !trailingDot && parent === (dirs.length === 0 ? root : prefetched[dirs.length - 1]);
    const entry = straight ? prefetched[dirs.length] ?? null : undefined;
    if (!isDir(parent)) this.#fail('ENOTDIR');
    if (name === '..') {
      // The kernel refuses to create or remove an entry called '..'; callers treat this like a
      // directory that exists (EEXIST/ENOTEMPTY) or an invalid name.
      return { parent, name, trailingSlash, trailingDot };
    }
    if (!isDir(parent)) this.#fail('ENOTDIR');
    if (!this.fs.checkAccess(this.caller, parent, X_OK)) this.#fail('EACCES');
    return { parent, name, trailingSlash, trailingDot, entry };
  }

  /** Resolve the whole path; `followLast` chooses stat vs lstat semantics (a trailing slash
   * always follows). */
  async resolve(followLast: boolean): Promise<Resolved> {
    const problem = pathProblem(this.path);
    if (problem) this.#fail(problem);
    const { parts, trailingSlash } = parsePath(this.path);
    const [root, ...prefetched] = await this.fs.lookupPath(ROOT_INODE, leadingNames(parts));
    const stack = [root];
    this.#names = [];
    const last = await this.#walk(stack, parts, followLast || trailingSlash, prefetched);
    const attr = stack[stack.length - 1];
    if (trailingSlash && !isDir(attr)) this.#fail('ENOTDIR');
    const parent = stack.length > 1 ? stack[stack.length - 2] : root;
    return { attr, parent, name: last, realpath: `/${this.#names.join('/')}` };
  }

  /** Walk `parts` from the top of `stack`, pushing each directory entered; with `followLast`,
   * a symlink as final component is expanded too. `prefetched` holds the attributes of the leading
   * components, read in one go; they serve until the walk leaves that straight line ('..' or a
   * symlink). Returns the last name walked. */
  async #walk(stack: Attr[], parts: string[], followLast = true, prefetched: Attr[] = []): Promise<string> {
    let lastName = '';
    let ahead: Attr[] | null = prefetched;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i];
      const isLast = i === parts.length - 1;
      const dir = stack[stack.length - 1];
      if (!isDir(dir)) this.#fail('ENOTDIR');
      if (!this.fs.checkAccess(this.caller, dir, X_OK)) this.#fail('EACCES');
      lastName = name;
      if (name === '..') {
        ahead = null;
        if (stack.length > 1) {
          stack.pop();
          this.#names.pop();
        }
        continue;
      }
      const child = ahead !== null && i < ahead.length ? ahead[i] : await this.fs.lookupIn(dir, name).catch((err: unknown) => {
        throw this.#rethrow(err);
      });
      if (isSymlink(child) && (!isLast || followLast)) {
        ahead = null;
        if (++this.#links > SYMLOOP_MAX) this.#fail('ELOOP');
        const target = await this.fs.readlink(this.caller, child.ino);
        if (target.length === 0) this.#fail('ENOENT');
        const sub = parsePath(target);
        if (target.startsWith('/')) {
          stack.splice(1);
          this.#names = [];
        }
        lastName = await this.#walk(stack, sub.parts, true);
        if (sub.parts.length === 0) lastName = '';
        // A target written with a trailing slash ("b/") only resolves to a directory.
        if (sub.trailingSlash && !isDir(stack[stack.length - 1])) this.#fail('ENOTDIR');
        continue;
      }
      stack.push(child);
      this.#names.push(name);
    }
    return lastName;
  }

  /** Errors from lookups carry this walk's syscall and the caller's path, as Node reports them. */
  #rethrow(err: unknown): unknown {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return errnoError(code, this.syscall, this.path);
    return err;
  }
}

/** The components before the first '..': the straight line one read can fetch. */
function leadingNames(parts: string[]): string[] {
  const up = parts.indexOf('..');
  return up < 0 ? parts : parts.slice(0, up);
}
