import type { ScoreJob } from '../pipeline/score-job.js';

/** Defaults for what a request may say about its own urgency. */
export interface RequestDefaults {
  deadlineMs: number | null;
  priority: 'online' | 'nearline';
}

export class RequestOptionError extends Error {}

/**
 * Applies a request's deadline (relative milliseconds, from x-scorecar-deadline-ms, a /rank
 * field or a gRPC deadline) and priority class to a job; shared by HTTP and gRPC.
 */
export function applyUrgency(job: ScoreJob, deadlineMs: number | null, priority: string | null, d: RequestDefaults, now = performance.now()): void {
  const ms = deadlineMs ?? d.deadlineMs;
  if (ms !== null && !(ms > 0)) throw new RequestOptionError('deadline must be a positive number of milliseconds');
  job.deadlineAt = ms === null ? Number.POSITIVE_INFINITY : now + ms;
  if (priority === null || priority === '') job.priority = d.priority;
  else if (priority === 'online' || priority === 'nearline') job.priority = priority;
  else throw new RequestOptionError('priority must be "online" or "nearline"');
}

/** Parses the x-scorecar-deadline-ms header value. */
/** The x-scorecar-priority header's value (the first, if repeated); validated by applyUrgency. */
export function priorityHeader(v: string | string[] | undefined): string | null {
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

export function deadlineHeader(v: string | string[] | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(Array.isArray(v) ? v[0] : v);
  if (!Number.isFinite(n) || n <= 0) throw new RequestOptionError('x-scorecar-deadline-ms must be a positive number');
  return n;
}
