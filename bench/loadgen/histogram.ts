import { type Histogram, build } from 'hdr-histogram-js';

/** Latency percentiles in milliseconds (recorded at microsecond precision). */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One hour in microseconds: anything slower is clamped, never dropped. */
const HIGHEST_US = 3_600_000_000;

/**
 * An HDR histogram of durations. Values are whole microseconds with 3 significant digits, so a
 * 500 ms SLO is resolved to 0.5 ms and a 2 ms service time to 2 µs.
 */
export class LatencyHistogram {
  private readonly h: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(ms: number): void {
    const us = Math.round(ms * 1000);
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Percentile (0-100) in milliseconds; 0 when empty. */
  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p) / 1000;
  }

  summary(): LatencySummary {
    const n = this.h.totalCount;
    if (n === 0) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    return {
      count: n,
      p50: this.percentileMs(50),
      p90: this.percentileMs(90),
      p95: this.percentileMs(95),
      p99: this.percentileMs(99),
      p999: this.percentileMs(99.9),
      max: this.h.maxValue / 1000,
      mean: this.h.mean / 1000,
    };
  }

  /** Frees the histogram's buffers (a no-op for the JS build, required for the wasm one). */
  destroy(): void {
    this.h.destroy();
  }
}
