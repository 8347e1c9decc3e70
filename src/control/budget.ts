/**
 * In-flight token budgets for the shaper: a fixed one, or an adaptive one that follows the
 * latency measured at the backend. Both sit behind one small interface so the shaper does not
 * care which it has (a policy unit, like the breakers in backend/).
 */
export interface BudgetLimiter {
  /** Tokens the shaper may have in flight at the backend right now. */
  readonly budget: number;
  /**
   * One backend call finished: its latency, its tokens, the tokens in flight just before it
   * was released (itself included), and the time of release.
   */
  onSample(latencyMs: number, tokens: number, inFlightTokens: number, now: number): void;
}

export class StaticBudget implements BudgetLimiter {
  constructor(readonly budget: number) {
    if (!(budget > 0)) throw new RangeError(`token budget must be > 0, got ${budget}`);
  }

  onSample(): void {
    // A static budget ignores measurements by definition.
  }
}

export interface AimdBudgetOptions {
  /** Starting budget in tokens (default 32768: four packs of 8192). */
  initialTokens?: number;
  /** Floor (default 4096): the budget never starves the backend of a full pack. */
  minTokens?: number;
  /** Ceiling (default 262144). */
  maxTokens?: number;
  /**
   * Absolute latency target in ms. When unset the target is `tolerance` x the no-load baseline
   * (the lowest smoothed latency seen within `baselineWindowMs`).
   */
  targetLatencyMs?: number;
  /** Allowed rise over the baseline before the budget shrinks (default 2). */
  tolerance?: number;
  /** How long a baseline is remembered (default 120 s): lets it follow a slower backend. */
  baselineWindowMs?: number;
  /** EWMA weight of each latency sample (default 0.2, about the last ten calls). */
  smoothing?: number;
  /** Multiplicative decrease when latency is over target (default 0.8). */
  backoff?: number;
  /** Additive increase per round, one budget's worth of completed tokens (default minTokens / 2). */
  increaseTokens?: number;
  /**
   * Grow only while at least this fraction of the budget is in use (default 0.5): latency
   * measured under a light load says nothing about whether a larger budget is safe.
   */
  utilizationToGrow?: number;
}

/**
 * Additive increase, multiplicative decrease on backend latency, in the spirit of TCP and of
 * Netflix's concurrency-limits: while smoothed latency stays under the target the budget grows
 * by `increaseTokens` per round; when it rises above, the budget is cut by target / latency,
 * between `backoff` and one half, at most once per smoothed latency (one congestion episode, one
 * cut), down to minTokens.
 */
export class AimdBudget implements BudgetLimiter {
  private current: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  private readonly fixedTarget: number | undefined;
  private readonly tolerance: number;
  private readonly baselineWindowMs: number;
  private readonly smoothing: number;
  private readonly backoff: number;
  private readonly increaseTokens: number;
  private readonly utilizationToGrow: number;

  private smoothedMs = NaN;
  // Windowed minimum in two half-window buckets: O(1) per sample, forgets within one window.
  private minCur = Infinity;
  private minPrev = Infinity;
  private bucketStart = NaN;
  private lastCutAt = -Infinity;

  constructor(o: AimdBudgetOptions = {}) {
    this.minTokens = o.minTokens ?? 4096;
    this.maxTokens = o.maxTokens ?? 262144;
    const initial = o.initialTokens ?? 32768;
    if (!(this.minTokens > 0) || !(this.maxTokens >= this.minTokens))
      throw new RangeError(`need 0 < minTokens <= maxTokens, got ${this.minTokens}, ${this.maxTokens}`);
    this.current = Math.min(this.maxTokens, Math.max(this.minTokens, initial));
    this.fixedTarget = o.targetLatencyMs;
    if (this.fixedTarget !== undefined && !(this.fixedTarget > 0))
      throw new RangeError(`targetLatencyMs must be > 0, got ${this.fixedTarget}`);
    this.tolerance = o.tolerance ?? 2;
    this.baselineWindowMs = o.baselineWindowMs ?? 120_000;
    this.smoothing = o.smoothing ?? 0.2;
    this.backoff = o.backoff ?? 0.8;
    this.increaseTokens = o.increaseTokens ?? this.minTokens / 2;
    this.utilizationToGrow = o.utilizationToGrow ?? 0.5;
    if (!(this.tolerance >= 1)) throw new RangeError('tolerance must be >= 1');
    if (!(this.smoothing > 0 && this.smoothing <= 1)) throw new RangeError('smoothing must be in (0, 1]');
    if (!(this.backoff > 0 && this.backoff < 1)) throw new RangeError('backoff must be in (0, 1)');
  }

  get budget(): number {
    return this.current;
  }

  /** Smoothed backend latency (NaN before the first sample). */
  get latencyMs(): number {
    return this.smoothedMs;
  }

  /** The no-load latency estimate (Infinity before the first sample). */
  get baselineMs(): number {
    return Math.min(this.minCur, this.minPrev);
  }

  /** The latency above which the budget shrinks (Infinity before the first sample). */
  get targetMs(): number {
    return this.fixedTarget ?? this.baselineMs * this.tolerance;
  }

  onSample(latencyMs: number, tokens: number, inFlightTokens: number, now: number): void {
    if (!(latencyMs >= 0)) return;
    this.smoothedMs = Number.isNaN(this.smoothedMs)
      ? latencyMs
      : this.smoothedMs + this.smoothing * (latencyMs - this.smoothedMs);
    this.trackBaseline(now);

    const target = this.targetMs;
    if (this.smoothedMs > target) {
      if (now - this.lastCutAt >= this.smoothedMs) {
        // The cut follows the overshoot (latency grows with the tokens in flight): at twice the
        // target or more, halve; just over it, `backoff`. A fixed 0.8 took ten cuts, one per
        // smoothed latency, to come down from a budget worth 2.6 s of work to one worth 250 ms,
        // and the 1.5x row of bench:overload spent its whole run there (accepted p95 1.3 s).
        const factor = Math.min(this.backoff, Math.max(Math.min(0.5, this.backoff), target / this.smoothedMs));
        this.current = Math.max(this.minTokens, this.current * factor);
        this.lastCutAt = now;
      }
      return;
    }
    if (inFlightTokens >= this.utilizationToGrow * this.current) {
      // tokens / budget of a round per completion: the budget grows by increaseTokens per round.
      this.current = Math.min(this.maxTokens, this.current + (this.increaseTokens * tokens) / this.current);
    }
  }

  private trackBaseline(now: number): void {
    if (Number.isNaN(this.bucketStart)) this.bucketStart = now;
    if (now - this.bucketStart >= this.baselineWindowMs / 2) {
      this.minPrev = this.minCur;
      this.minCur = Infinity;
      this.bucketStart = now;
    }
    if (this.smoothedMs < this.minCur) this.minCur = this.smoothedMs;
  }
}
