// Rules for a volume's name: it becomes the first component of every object key
// ({volume}/chunks/...), so it must be a plain, portable key segment.
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** Why `name` cannot name a volume, or null if it can. */
export function volumeNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'a volume name must be a string';
  if (name.length === 0) return 'a volume name cannot be empty';
  if (name.includes('\0')) return 'a volume name cannot contain NUL';
  if (name.includes('/')) return `a volume name cannot contain "/" (got "${name}")`;
  if (!NAME.test(name)) return `"${name}" is not a valid volume name: use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit`;
  return null;
}
