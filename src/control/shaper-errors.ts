import type { Priority } from './priority.js';

/**
 * Why the shaper refused work before dispatch:
 * - 'deadline': it could not (or can no longer) be served before its deadline;
 * - 'queue-full': the bounded queue had no room (or an online arrival displaced it);
 * - 'queue-time': it would wait (or has waited) longer than the queue-time bound (--max-queue-ms);
 * - 'closed': the shaper was closed while the request waited.
 */
export type RefusalReason = 'deadline' | 'queue-full' | 'queue-time' | 'closed';

/**
 * Work refused before it reached a backend. The GPU spent nothing on it, so the client may retry:
 * HTTP 429 with Retry-After / gRPC RESOURCE_EXHAUSTED ('closed' is better answered 503).
 */
export class ShaperRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    /** Whole seconds, at least 1: the estimated time for the current queue to drain. */
    readonly retryAfterS: number,
    readonly priority: Priority,
  ) {
    super(
      reason === 'deadline'
        ? 'the request cannot be scored before its deadline'
        : reason === 'queue-full'
          ? 'the scoring queue is full'
          : reason === 'queue-time'
            ? 'the request would wait longer than the queue-time bound'
            : 'the scoring queue is closed',
    );
    this.name = 'ShaperRefused';
  }
}

/**
 * Work that was admitted but outlived its deadline in flight (see expiredInFlight): HTTP 504 /
 * gRPC DEADLINE_EXCEEDED. The lead's dispatch throws it; the shaper never does.
 */
export class DeadlineExceededInFlight extends Error {
  constructor(readonly overdueMs: number) {
    super('the request exceeded its deadline while being scored');
    this.name = 'DeadlineExceededInFlight';
  }
}
