/**
 * Latencies of a backend's recent successful calls: a ring of the last 256 (its group pools
 * them for the hedge delay, backend-group.ts) and their smoothed value.
 */
export class LatencyWindow {
  private readonly ring = new Float64Array(256);
  private n = 0;
  private at = 0;
  /** Smoothed latency (EWMA, weight 0.2): the pick's tie-breaker between equally loaded backends. */
  ewmaMs = NaN;

  observe(ms: number): void {
    this.ring[this.at] = ms;
    this.at = (this.at + 1) & 255;
    if (this.n < 256) this.n++;
    this.ewmaMs = Number.isNaN(this.ewmaMs) ? ms : this.ewmaMs + 0.2 * (ms - this.ewmaMs);
  }

  /**
   * A failed call: the smoothed latency doubles (capped at 5 s), so a backend whose failures
   * come back fast does not look like the fastest one when the pick breaks a tie. The cap keeps
   * the way back short: about 30 good calls bring 5 s down to a few ms. The ring keeps good
   * calls only.
   */
  penalize(): void {
    this.ewmaMs = Number.isNaN(this.ewmaMs) ? 1000 : Math.min(5000, Math.max(1, this.ewmaMs * 2));
  }

  /** A restarted backend: its old record says nothing about it. */
  forget(): void {
    this.ewmaMs = NaN;
  }

  get count(): number {
    return this.n;
  }

  /** Copies the window's samples into `out` from `at`; returns how many. */
  copyInto(out: Float64Array, at: number): number {
    out.set(this.ring.subarray(0, this.n), at);
    return this.n;
  }
}
