// Stats and BigIntStats objects with the fields and predicates of node:fs's.
import type { Attr } from '../vfs/attr.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../vfs/constants.js';

/** Reported block size: st_blksize is an I/O hint, 4 KiB like most local file systems. */
const BLKSIZE = 4096;
const NS_PER_MS = 1_000_000n;

abstract class StatsBase<T extends number | bigint> {
  abstract dev: T;
  abstract mode: T;
  isFile(): boolean { return (Number(this.mode) & S_IFMT) === S_IFREG; }
  isDirectory(): boolean { return (Number(this.mode) & S_IFMT) === S_IFDIR; }
  isSymbolicLink(): boolean { return (Number(this.mode) & S_IFMT) === S_IFLNK; }
  isFIFO(): boolean { return (Number(this.mode) & S_IFMT) === S_IFIFO; }
  isSocket(): boolean { return (Number(this.mode) & S_IFMT) === S_IFSOCK; }
  isCharacterDevice(): boolean { return (Number(this.mode) & S_IFMT) === S_IFCHR; }
  isBlockDevice(): boolean { return (Number(this.mode) & S_IFMT) === S_IFBLK; }
}

function msFromNs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

export class Stats extends StatsBase<number> {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(attr: Attr, dev: number) {
    super();
    this.dev = dev;
    this.ino = attr.ino;
    this.mode = attr.mode;
    this.nlink = attr.nlink;
    this.uid = attr.uid;
    this.gid = attr.gid;
    this.rdev = attr.rdev;
    this.size = attr.size;
    this.blksize = BLKSIZE;
    this.blocks = attr.blocks;
    this.atimeMs = msFromNs(attr.atimeNs);
    this.mtimeMs = msFromNs(attr.mtimeNs);
    this.ctimeMs = msFromNs(attr.ctimeNs);
    this.birthtimeMs = msFromNs(attr.birthtimeNs);
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }
}

export class BigIntStats extends StatsBase<bigint> {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(attr: Attr, dev: number) {
    super();
    this.dev = BigInt(dev);
    this.ino = BigInt(attr.ino);
    this.mode = BigInt(attr.mode);
    this.nlink = BigInt(attr.nlink);
    this.uid = BigInt(attr.uid);
    this.gid = BigInt(attr.gid);
    this.rdev = BigInt(attr.rdev);
    this.size = BigInt(attr.size);
    this.blksize = BigInt(BLKSIZE);
    this.blocks = BigInt(attr.blocks);
    this.atimeNs = attr.atimeNs;
    this.mtimeNs = attr.mtimeNs;
    this.ctimeNs = attr.ctimeNs;
    this.birthtimeNs = attr.birthtimeNs;
    this.atimeMs = attr.atimeNs / NS_PER_MS;
    this.mtimeMs = attr.mtimeNs / NS_PER_MS;
    this.ctimeMs = attr.ctimeNs / NS_PER_MS;
    this.birthtimeMs = attr.birthtimeNs / NS_PER_MS;
    this.atime = new Date(Number(this.atimeMs));
    this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs));
    this.birthtime = new Date(Number(this.birthtimeMs));
  }
}

export function makeStats(attr: Attr, dev: number, bigint: boolean): Stats | BigIntStats {
  return bigint ? new BigIntStats(attr, dev) : new Stats(attr, dev);
}
