// The error a promise rejects with (failing the test if it resolves), typed like Node's errors.
export type ErrnoLike = Error & { code?: string; path?: string; syscall?: string };

export async function rejectionOf(p: Promise<unknown>): Promise<ErrnoLike> {
  try {
    await p;
  } catch (err) {
    return err as ErrnoLike;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
