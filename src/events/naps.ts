// The waits of the event loops (delivery, reading the change log): each can be cut short by
// close(), and those that ask for it by poke() (new events queued).
export class Naps {
  #closed = false;
  readonly #sleeping = new Set<{ wake: () => void; pokable: boolean }>();

  get closed(): boolean {
    return this.#closed;
  }

  /** Wait `ms`, or less when poked (if `pokable`) or closed; at once when closed already. */
  nap(ms: number, pokable = false): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { pokable, wake: () => undefined as void };
      const timer = setTimeout(() => entry.wake(), ms);
      entry.wake = () => {
        clearTimeout(timer);
        this.#sleeping.delete(entry);
        resolve();
      };
      this.#sleeping.add(entry);
    });
  }

  poke(): void {
    for (const s of [...this.#sleeping]) if (s.pokable) s.wake();
  }

  close(): void {
    this.#closed = true;
    for (const s of [...this.#sleeping]) s.wake();
  }
}
