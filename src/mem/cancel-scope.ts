/**
 * Cancellation for one request's backend calls, reusable across requests (an AbortController
 * and its listener cost about 1.5 KB of garbage per request on the hot path).
 */
export interface Cancellable {
  cancel(): void;
}

export class CancelScope {
  cancelled = false;
  private readonly calls = new Set<Cancellable>();
  /** Bound once, so it can be handed to res.once('close') without a closure per request. */
  readonly cancelAll = (): void => {
    this.cancelled = true;
    for (const c of this.calls) c.cancel();
    this.calls.clear();
  };

  add(c: Cancellable): void {
    this.calls.add(c);
  }

  delete(c: Cancellable): void {
    this.calls.delete(c);
  }

  reset(): void {
    this.cancelled = false;
    this.calls.clear();
  }
}

export class CancelledError extends Error {
  constructor() {
    super('the client went away');
    this.name = 'AbortError';
  }
}
