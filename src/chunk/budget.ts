// The write buffer's memory budget, shared by every writer of a store. A writer takes bytes before
// it allocates a block buffer and gives them back when the block is stored; a writer that does not
// fit waits (first come, first served). Waiting alone could deadlock when the budget is full of
// partial blocks that only a flush would upload, so a new waiter first asks `relieve` to start
// uploading enough buffered data to make room.
export class WriteBudget {
  private used = 0;
  private peakUsed = 0;
  private readonly waiters: { bytes: number; grant: () => void }[] = [];

  constructor(
    readonly limit: number,
    /** Called when bytes are wanted that are not free: `shortfall` bytes must be freed. */
    private readonly relieve: (shortfall: number) => void,
  ) {}

  get inUse(): number {
    return this.used;
  }

  /** The most ever in use at once. */
  get peak(): number {
    return this.peakUsed;
  }

  /** Bytes wanted by writers that are waiting. */
  get wanted(): number {
    let n = 0;
    for (const w of this.waiters) n += w.bytes;
    return n;
  }

  async acquire(bytes: number): Promise<void> {
    if (bytes > this.limit) throw new RangeError(`a buffer of ${bytes} bytes can never fit the write buffer of ${this.limit} bytes`);
    if (this.waiters.length === 0 && this.used + bytes <= this.limit) {
      this.take(bytes);
      return;
    }
    const granted = new Promise<void>((resolve) => this.waiters.push({ bytes, grant: resolve }));
    this.relieve(this.used + this.wanted - this.limit);
    await granted;
  }

  /** Bytes taken a moment ago became a buffer that `relieve` could upload: if writers are waiting,
   * ask again (when they queued, those bytes were neither uploading nor sealable). */
  recheck(): void {
    if (this.waiters.length > 0) this.relieve(this.used + this.wanted - this.limit);
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) throw new Error(`strata: write buffer released more than it took (${this.used})`);
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.bytes <= this.limit) {
      const w = this.waiters.shift()!;
      this.take(w.bytes);
      w.grant();
    }
  }

  private take(bytes: number): void {
    this.used += bytes;
    if (this.used > this.peakUsed) this.peakUsed = this.used;
  }
}
