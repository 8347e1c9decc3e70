/**
 * Cancellation for one request's backend calls, reusable across requests (an AbortController
 * and its listener cost about 1.5 KB of garbage per request on the hot path).
 */
export interface Cancellable {
  cancel(): void;
}

export class CancelScope {
  cancelled = false;
  /**
   * The calls in flight, in [0, n): a scratch array kept at its size, not a Set. A Set cleared
   * or shrunk by delete reallocates its table on the next add: ~270 B of garbage per request in
   * the floor bench's allocation profile. A request has a handful of calls, so delete's scan is short.
   */
  private readonly calls: (Cancellable | null)[] = [];
  private n = 0;
  /** Bound once, so it can be handed to res.once('close') without a closure per request. */
  readonly cancelAll = (): void => {
    this.cancelled = true;
    // Each call leaves the list before it is cancelled: one that deletes itself, or adds another, is safe.
    while (this.n > 0) {
      const c = this.calls[--this.n] as Cancellable;
      this.calls[this.n] = null;
      c.cancel();
    }
  };

  add(c: Cancellable): void {
    if (this.n === this.calls.length) this.calls.push(c);
    else this.calls[this.n] = c;
    this.n++;
  }

  delete(c: Cancellable): void {
    const calls = this.calls;
    for (let i = this.n - 1; i >= 0; i--) {
      if (calls[i] === c) {
        const last = --this.n;
        calls[i] = calls[last] as Cancellable;
        calls[last] = null;
        return;
      }
    }
  }

  reset(): void {
    this.cancelled = false;
    for (let i = 0; i < this.n; i++) this.calls[i] = null;
    this.n = 0;
  }
}

export class CancelledError extends Error {
  constructor() {
    super('the client went away');
    this.name = 'AbortError';
  }
}
