import { Rng } from '../rng.js';
import type { BenchRequest, RequestSource } from './target.js';

/**
 * A mix of scorecar's priority classes: a share of the requests is latency-insensitive work
 * (nearline: alerts, recommendations computed ahead) sent with x-scorecar-priority: nearline,
 * the rest is interactive search (online). The SLO applies to online latency; nearline gets a
 * looser client timeout, which is its bound (a nearline request slower than that is a timeout,
 * and timeouts count against the step's error budget like errors do).
 */
export interface PriorityMix {
  /** Share of requests sent as nearline, in [0, 1]. */
  nearlineShare: number;
  /** Client-side timeout of a nearline request from its scheduled time. */
  nearlineTimeoutMs: number;
  /** x-scorecar-deadline-ms sent with online requests; null: none. */
  onlineDeadlineMs: number | null;
  /** x-scorecar-deadline-ms sent with nearline requests; null: none. */
  nearlineDeadlineMs: number | null;
}

/** Why a mix is unusable, or null. */
export function priorityMixError(m: PriorityMix): string | null {
  if (!(m.nearlineShare >= 0 && m.nearlineShare <= 1)) return `nearline share must be in [0, 1], got ${m.nearlineShare}`;
  if (!(m.nearlineTimeoutMs > 0)) return `nearline timeout must be > 0 ms, got ${m.nearlineTimeoutMs}`;
  for (const d of [m.onlineDeadlineMs, m.nearlineDeadlineMs]) {
    if (d !== null && !(d > 0)) return `deadlines must be > 0 ms, got ${d}`;
  }
  return null;
}

/**
 * Wraps a request source and gives each request a class, drawn independently with probability
 * nearlineShare from its own seeded stream: the n-th request of a run gets the same class for
 * every target measured with the same seed. Nearline requests also carry the nearline timeout
 * (the step runner uses it instead of its own) and each class its deadline header, if any.
 */
export class PriorityMixSource implements RequestSource {
  private readonly rng: Rng;
  /** Requests drawn per class so far (for reports and tests). */
  readonly drawn = { online: 0, nearline: 0 };

  constructor(
    private readonly inner: RequestSource,
    private readonly mix: PriorityMix,
    seed: number,
  ) {
    const err = priorityMixError(mix);
    if (err) throw new Error(err);
    this.rng = Rng.derive(seed, 'priority-mix');
  }

  next(scheduledAtMs: number): BenchRequest {
    const req = this.inner.next(scheduledAtMs);
    const nearline = this.rng.next() < this.mix.nearlineShare;
    if (nearline) {
      this.drawn.nearline++;
      const d = this.mix.nearlineDeadlineMs;
      return d === null
        ? { ...req, priority: 'nearline', timeoutMs: this.mix.nearlineTimeoutMs }
        : { ...req, priority: 'nearline', timeoutMs: this.mix.nearlineTimeoutMs, deadlineMs: d };
    }
    this.drawn.online++;
    const d = this.mix.onlineDeadlineMs;
    return d === null ? { ...req, priority: 'online' } : { ...req, priority: 'online', deadlineMs: d };
  }
}
