// A path inside a volume, as the volume tools (fsck, compact) take it: the inode it names and the
// path spelled canonically, or ENOENT naming both.
import { redactUrl } from '../config/urls.js';
import { errnoError } from '../errors/errno.js';
import type { Meta } from '../meta/meta.js';

export async function volumePath(meta: Pick<Meta, 'lookupPath'>, metaUrl: string, path: string, syscall: string): Promise<{ ino: number; path: string }> {
  const names = path.split('/').filter(Boolean);
  const found = await meta.lookupPath(1, names);
  if (found.length !== names.length + 1) throw errnoError('ENOENT', syscall, path, `${path}: no such file or directory in ${redactUrl(metaUrl)}`);
  return { ino: found[found.length - 1]!.ino, path: `/${names.join('/')}` };
}
