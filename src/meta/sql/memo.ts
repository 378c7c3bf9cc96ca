// Statements built once per shape: the same text each time also keeps driver caches (prepared
// statements) hot.
export function memo<A extends unknown[]>(build: (...args: A) => string): (...args: A) => string {
  const built = new Map<string, string>();
  return (...args: A) => {
    const key = args.join('|');
    let sql = built.get(key);
    if (sql === undefined) built.set(key, (sql = build(...args)));
    return sql;
  };
}
