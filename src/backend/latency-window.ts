/**
 * Latencies of a backend's recent successful calls: a ring of the last 256 and their p95,
 * recomputed at most every 32 samples (sorting 256 numbers per call would cost more than the
 * hedge it decides).
 */
export class LatencyWindow {
  private readonly ring = new Float64Array(256);
  private readonly scratch = new Float64Array(256);
  private n = 0;
  private at = 0;
  private sinceSort = 0;
  private p95Cached = NaN;
  /** Smoothed latency (EWMA, weight 0.2): the pick's tie-breaker between equally loaded backends. */
  ewmaMs = NaN;

  observe(ms: number): void {
    this.ring[this.at] = ms;
    this.at = (this.at + 1) & 255;
    if (this.n < 256) this.n++;
    this.ewmaMs = Number.isNaN(this.ewmaMs) ? ms : this.ewmaMs + 0.2 * (ms - this.ewmaMs);
    if (++this.sinceSort >= 32 || this.n <= 32) this.p95Cached = NaN;
  }

  /**
   * A failed call: the smoothed latency doubles (capped at a minute), so a backend whose
   * failures come back fast does not look like the fastest one when the pick breaks a tie.
   * The p95 window keeps good calls only.
   */
  penalize(): void {
    this.ewmaMs = Number.isNaN(this.ewmaMs) ? 1000 : Math.min(60_000, Math.max(1, this.ewmaMs * 2));
  }

  get count(): number {
    return this.n;
  }

  /** p95 of the window, NaN before any sample. */
  p95(): number {
    if (this.n === 0) return NaN;
    if (!Number.isNaN(this.p95Cached)) return this.p95Cached;
    const s = this.scratch.subarray(0, this.n);
    s.set(this.ring.subarray(0, this.n));
    s.sort();
    this.p95Cached = s[Math.min(this.n - 1, Math.floor(this.n * 0.95))] as number;
    this.sinceSort = 0;
    return this.p95Cached;
  }
}
