/**
 * A retry budget in the manner of Finagle's RetryBudget and Envoy's retry_budget: every original
 * call deposits `ratio` of a token, every retry or hedge withdraws one, so retries stay under
 * `ratio` of calls however the backends fail (no retry storm from a fleet in trouble). A small
 * reserve that refills with time (`minPerSecond`) lets light traffic retry at all.
 */
export interface RetryBudgetOptions {
  /** Retries (hedges included) per original call, at most (default 0.2). */
  ratio?: number;
  /** Retries per second allowed whatever the traffic (default 5). */
  minPerSecond?: number;
}

export class RetryBudget {
  private readonly ratio: number;
  private readonly minPerSecond: number;
  /** Tokens earned by calls; never above what the last 10 s of traffic could have earned. */
  private earned = 0;
  /** Reserve tokens, refilled at minPerSecond up to one second's worth. */
  private reserve: number;
  private refilledAt: number;
  deposits = 0;
  withdrawals = 0;
  refusals = 0;

  constructor(o: RetryBudgetOptions = {}, now = performance.now()) {
    this.ratio = o.ratio ?? 0.2;
    this.minPerSecond = o.minPerSecond ?? 5;
    if (!(this.ratio >= 0 && this.ratio <= 1)) throw new RangeError('retry budget ratio must be in [0, 1]');
    if (!(this.minPerSecond >= 0)) throw new RangeError('retry budget minPerSecond must be >= 0');
    this.reserve = this.minPerSecond;
    this.refilledAt = now;
  }

  /** An original call was sent. */
  deposit(): void {
    this.deposits++;
    // The cap keeps a long quiet-but-successful spell from banking a burst of retries.
    this.earned = Math.min(this.earned + this.ratio, Math.max(1, this.ratio * 1000));
  }

  /** Takes one retry token; false when the budget is spent. */
  tryWithdraw(now = performance.now()): boolean {
    const dt = (now - this.refilledAt) / 1000;
    this.refilledAt = now;
    this.reserve = Math.min(this.minPerSecond, this.reserve + dt * this.minPerSecond);
    if (this.earned >= 1) this.earned -= 1;
    else if (this.reserve >= 1) this.reserve -= 1;
    else {
      this.refusals++;
      return false;
    }
    this.withdrawals++;
    return true;
  }
}
