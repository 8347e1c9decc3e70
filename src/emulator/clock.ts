import type { VirtualClock } from '../control/virtual-clock.js';

/**
 * Time for the emulator's cost model. The server runs on real time; calibration runs the very
 * same scheduler on a virtual clock (src/control's discrete-event VirtualClock), so fitting the
 * model takes seconds instead of hours and measures the model rather than this machine.
 */
export interface Clock {
  now(): number;
  /** Calls fn after ms milliseconds (0: as soon as possible). */
  after(ms: number, fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    // setTimeout(0) waits a millisecond; a zero-cost model must not.
    if (ms <= 0) setImmediate(fn);
    else setTimeout(fn, ms);
  },
};

/** The emulator's view of a virtual clock: time moves only when the caller advances it. */
export function virtualTime(vc: VirtualClock): Clock {
  return { now: () => vc.now(), after: (ms, fn) => void vc.setTimer(ms, fn, undefined) };
}
