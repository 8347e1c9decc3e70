/**
 * Time for the control loops: milliseconds on a monotonic clock, plus one-shot timers. Injected so
 * that tests and simulations run on virtual time; the default is performance.now() and Node's
 * timers. Deadlines everywhere in src/control are absolute times on the same clock.
 */
export interface TimerHandle {
  readonly __timer?: never;
}

export interface ControlClock {
  now(): number;
  /** Calls fire(arg) once, after about delayMs (late is allowed; early only for huge delays). */
  setTimer<A>(delayMs: number, fire: (arg: A) => void, arg: A): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: ControlClock = {
  now: () => performance.now(),
  setTimer<A>(delayMs: number, fire: (arg: A) => void, arg: A): TimerHandle {
    // unref: a request waiting in the shaper must not keep a closing process alive; close()
    // settles it instead.
    // Node fires delays beyond 2^31 - 1 ms after 1 ms; cap them (callers re-arm if early).
    return setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)), arg).unref() as unknown as TimerHandle;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

/** An absolute deadline budgetMs from now on the given clock. */
export function deadlineAfter(budgetMs: number, clock: ControlClock = systemClock): number {
  return clock.now() + budgetMs;
}

/** Milliseconds left before deadlineAt (negative once it has passed). */
export function remainingMs(deadlineAt: number, clock: ControlClock = systemClock): number {
  return deadlineAt - clock.now();
}

/**
 * True when work that was already admitted (in flight at a backend) has outlived its deadline:
 * such a request is answered 504 / DEADLINE_EXCEEDED, unlike work refused before dispatch
 * (429 / RESOURCE_EXHAUSTED), because the GPU has already spent time on it.
 */
export function expiredInFlight(deadlineAt: number, clock: ControlClock = systemClock): boolean {
  return clock.now() >= deadlineAt;
}
