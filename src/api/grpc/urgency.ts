import type { Deadline } from '@grpc/grpc-js';
import { Priority } from './messages.js';
import { GrpcRequestError } from './status.js';

/** Milliseconds left before a call's gRPC deadline; null when the call has none. */
export function callRemainingMs(deadline: Deadline, nowMs = Date.now()): number | null {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - nowMs : null;
}

/**
 * The request's deadline in the pipeline: the earlier of its deadline_ms field (0 = not given)
 * and the call's gRPC deadline. null leaves the server's --default-deadline-ms to apply.
 */
export function requestDeadlineMs(fieldMs: number, callMs: number | null): number | null {
  const field = fieldMs > 0 ? fieldMs : null;
  if (callMs === null) return field;
  // A call that arrives with its deadline already spent still needs a positive budget to be
  // refused by the shaper rather than rejected as a malformed option.
  const call = Math.max(callMs, 0.001);
  return field === null ? call : Math.min(field, call);
}

/** The Priority enum as the pipeline's class name; null when unspecified. */
export function priorityName(p: number | null | undefined): 'online' | 'nearline' | null {
  if (p === undefined || p === null || p === Priority.PRIORITY_UNSPECIFIED) return null;
  if (p === Priority.PRIORITY_ONLINE) return 'online';
  if (p === Priority.PRIORITY_NEARLINE) return 'nearline';
  throw new GrpcRequestError(`priority ${p} is not a Priority value (PRIORITY_ONLINE or PRIORITY_NEARLINE)`);
}
