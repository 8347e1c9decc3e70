/**
 * Calls a caller's continuation where a throw must not unwind the caller: a pooled call object
 * already given back, an I/O callback, a loop over several continuations. A throw there is a bug
 * in the continuation; it goes to the fault handler and the caller goes on.
 */
export function resume(k: () => void): void {
  try {
    k();
  } catch (e) {
    fault(e);
  }
}

/** resume() for a continuation that takes a value (a reply, an error). */
export function resumeWith<T>(k: (v: T) => void, v: T): void {
  try {
    k(v);
  } catch (e) {
    fault(e);
  }
}

/**
 * resumeWith() on the next tick, for an ending found before the call that takes the
 * continuation has returned (the contract: never before it returns).
 */
export function resumeLater<T>(k: (v: T) => void, v: T): void {
  process.nextTick(resumeWith, k, v);
}

/** The continuation a pooled call holds while it has none. */
export function noop(): void {}

/** Reports a throw that a caller caught where it could not be its own (a call already ended). */
export function continuationFault(e: unknown): void {
  fault(e);
}

/** By default a throw is an unhandled rejection, as it was when these stages were promises. */
let fault: (e: unknown) => void = (e) => void Promise.reject(e);

/** Where a continuation's throw goes (serve logs it and keeps running); returns the handler it replaced. */
export function onContinuationFault(handler: (e: unknown) => void): (e: unknown) => void {
  const was = fault;
  fault = handler;
  return was;
}
