import { Pid } from './pid.js';
import { WindowQuantile } from './window-quantile.js';

/**
 * What the controller measures: end-to-end scoring latency or time spent queued (in the shaper).
 * Either way, samples go in through observe() and a quantile over a sliding window is compared
 * with the target. The signal only picks the default target.
 */
export type DepthSignal = 'latency' | 'queue-delay';

export interface DepthControllerOptions {
  signal?: DepthSignal;
  /** Target for the windowed quantile, ms (default 500 for latency, 50 for queue delay). */
  targetMs?: number;
  /** Which quantile of the window (default 0.95). */
  quantile?: number;
  /** Sliding window length (default 10 s) and its sample capacity (default 8192). */
  windowMs?: number;
  windowCapacity?: number;
  /** Fewer samples than this in the window: not enough evidence, depth is held (default 20). */
  minSamples?: number;
  minDepth?: number;
  maxDepth?: number;
  initialDepth?: number;
  /**
   * Gains on the log error ln(target / measured), acting on ln(depth): kp (default 0.25),
   * ki per second (default 0.03), kd in seconds (default 0.5; the derivative is low-pass
   * filtered and damps the overshoot that the window's lag otherwise causes). Defaults were
   * chosen on simulateDepthControl across seeds.
   */
  kp?: number;
  ki?: number;
  kd?: number;
  /** |log error| below this is treated as on target (default 0.05, about 5%). */
  deadband?: number;
  /** The log error is clamped to +-this (default 1, i.e. e times off target) so one outlier window cannot swing depth. */
  maxError?: number;
  /**
   * Weight of errors over target relative to errors under it (default 2): the loop sheds depth
   * faster than it adds it back, like AIMD, because latency over target hurts users and grows
   * queues while latency under it only leaves capacity unused. In simulation this halves the
   * p95 excursion after a 2x load step, at the price of settling slightly under the target.
   */
  overloadWeight?: number;
  /** Largest relative change of depth per tick (default 0.25: x1.25 up or /1.25 down). */
  maxChangePerTick?: number;
  /** Largest relative change of depth per second (default unlimited). */
  maxChangePerSecond?: number;
  /** Expected tick interval, used for the first tick's dt and to cap dt after a stall (default 1000). */
  tickMs?: number;
}

/**
 * Ranking-depth controller: a PID loop that sets how many candidates a /rank request scores.
 * Above the target the depth falls, below it the depth rises, between minDepth and maxDepth.
 *
 * It works on ln(depth) with the error ln(target / measured): GPU work, and to first order the
 * latency it causes, scale with depth times load, so in log space the plant is close to a unit
 * gain whatever the operating point, and one set of gains behaves the same at depth 50 and 1000;
 * the rate limit is likewise a ratio, symmetric up and down. The lead calls tick() on an
 * interval off the request path; observe() is the only per-request cost (a store into a ring).
 */
export class DepthController {
  readonly signal: DepthSignal;
  readonly targetMs: number;
  readonly minDepth: number;
  readonly maxDepth: number;
  private readonly q: number;
  private readonly minSamples: number;
  private readonly maxError: number;
  private readonly overloadWeight: number;
  private readonly tickMs: number;
  private readonly window: WindowQuantile;
  private readonly pid: Pid;
  private lastTickAt = NaN;
  private measured = NaN;
  private logError = 0;

  constructor(o: DepthControllerOptions = {}) {
    this.signal = o.signal ?? 'latency';
    this.targetMs = o.targetMs ?? (this.signal === 'latency' ? 500 : 50);
    this.minDepth = o.minDepth ?? 50;
    this.maxDepth = o.maxDepth ?? 1000;
    const initial = o.initialDepth ?? 250;
    this.q = o.quantile ?? 0.95;
    this.minSamples = o.minSamples ?? 20;
    this.maxError = o.maxError ?? 1;
    this.overloadWeight = o.overloadWeight ?? 2;
    this.tickMs = o.tickMs ?? 1000;
    if (!(this.targetMs > 0)) throw new RangeError(`targetMs must be > 0, got ${this.targetMs}`);
    if (!(this.minDepth >= 1 && this.maxDepth >= this.minDepth))
      throw new RangeError(`need 1 <= minDepth <= maxDepth, got ${this.minDepth}, ${this.maxDepth}`);
    if (!(initial >= this.minDepth && initial <= this.maxDepth))
      throw new RangeError(`initialDepth ${initial} is outside [${this.minDepth}, ${this.maxDepth}]`);
    if (!(this.q > 0 && this.q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${this.q}`);
    if (!(this.tickMs > 0)) throw new RangeError('tickMs must be > 0');
    this.window = new WindowQuantile(o.windowMs ?? 10_000, o.windowCapacity ?? 8192);
    const perTick = o.maxChangePerTick ?? 0.25;
    const perSecond = o.maxChangePerSecond ?? Infinity;
    this.pid = new Pid({
      kp: o.kp ?? 0.25,
      ki: o.ki ?? 0.03,
      kd: o.kd ?? 0.5,
      bias: Math.log(initial),
      outMin: Math.log(this.minDepth),
      outMax: Math.log(this.maxDepth),
      maxStepPerUpdate: Math.log1p(perTick),
      maxStepPerSecond: Math.log1p(perSecond),
      deadband: o.deadband ?? 0.05,
    });
  }

  /** One measurement (a request's latency or queue delay, ms) taken at `at` (ms, the tick clock). */
  observe(valueMs: number, at: number = performance.now()): void {
    this.window.add(valueMs, at);
  }

  /** Updates and returns the depth. Call on an interval with a monotonic `now` (ms). */
  tick(now: number = performance.now()): number {
    const dtS = Number.isNaN(this.lastTickAt)
      ? this.tickMs / 1000
      : Math.min(Math.max(0, now - this.lastTickAt), 5 * this.tickMs) / 1000;
    this.lastTickAt = now;
    const n = this.window.evict(now);
    if (n < this.minSamples) {
      // Too little traffic to measure: hold rather than act on noise or on nothing.
      this.logError = 0;
      this.measured = n === 0 ? NaN : this.window.quantile(this.q, now);
      return this.depth;
    }
    this.measured = this.window.quantile(this.q, now);
    // A zero measurement (an empty queue) is as far under target as the clamp allows.
    const floor = this.targetMs * Math.exp(-this.maxError);
    const e = Math.max(-this.maxError, Math.min(this.maxError, Math.log(this.targetMs / Math.max(this.measured, floor))));
    this.logError = e;
    this.pid.update(e < 0 ? e * this.overloadWeight : e, dtS);
    return this.depth;
  }

  /** Candidates to score per /rank request now. */
  get depth(): number {
    return Math.min(this.maxDepth, Math.max(this.minDepth, Math.round(Math.exp(this.pid.output))));
  }

  /** The windowed quantile at the last tick (NaN when the window was empty). */
  get measuredMs(): number {
    return this.measured;
  }

  /** The last log error ln(target / measured), clamped to +-maxError (0 while holding). */
  get error(): number {
    return this.logError;
  }

  /** PID terms, in units of ln(depth) (a term of 0.1 means about +10% depth). */
  get pTerm(): number {
    return this.pid.pTerm;
  }
  get iTerm(): number {
    return this.pid.iTerm;
  }
  get dTerm(): number {
    return this.pid.dTerm;
  }
  /** Whether the last tick was held by a depth bound or the rate limit. */
  get saturated(): boolean {
    return this.pid.isSaturated;
  }
  /** Samples in the window at the last tick. */
  get windowSamples(): number {
    return this.window.size;
  }
}
