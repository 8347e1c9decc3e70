import type { FailureClass } from './errors.js';

/** Counters of one backend's scoring calls, read by the metrics at scrape time. */
export class BackendStats {
  readonly errors: Record<FailureClass, number> = { '5xx': 0, timeout: 0, reset: 0, connect: 0, '4xx': 0 };
  /** Calls sent here as a retry of a call that failed elsewhere. */
  retries = 0;
  /** Hedged copies sent here that answered first / that were cancelled or lost. */
  hedgesWon = 0;
  hedgesLost = 0;
}
