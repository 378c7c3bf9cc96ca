// Extra `strata mount` flags for the benches' mounts, from BENCH_MOUNT_ARGS (space-separated), so a
// default can be compared with its alternative in the same bench (e.g. "--busy-poll 0").
export function mountArgs(): string[] {
  return (process.env.BENCH_MOUNT_ARGS ?? '').split(/\s+/).filter(Boolean);
}
