import { Rng } from '../rng.js';
import { scheduleArrivals } from './arrivals.js';
import { type LatencySummary, LatencyHistogram } from './histogram.js';
import { type RequestSource, STATUS_TRANSPORT_ERROR, type ScoreTarget, type SendResult } from './target.js';

/**
 * A traffic ramp: consecutive fixed-rate windows of Poisson arrivals, sent as one continuous
 * open-loop run (no drain or pause between windows, unlike SLO-search steps), so the target
 * sees load change the way a day's traffic changes it. Every request is accounted to the window
 * of its scheduled send time; latency runs from that time, as in runStep.
 */
export interface RampWindow {
  /** Offered requests per second in this window. */
  rps: number;
  durationMs: number;
}

export interface RampConfig {
  windows: readonly RampWindow[];
  /** Per request, from its scheduled send time. */
  timeoutMs: number;
  seed: number;
}

export interface RampWindowResult {
  index: number;
  /** Window start, seconds from the start of the ramp. */
  startS: number;
  durationS: number;
  offeredRps: number;
  scheduled: number;
  ok: number;
  errors: number;
  errorsByStatus: Record<string, number>;
  timeouts: number;
  achievedRps: number;
  /** Scored items (SendResult.scoredItems, else items sent) of successes per second. */
  itemsPerSecond: number;
  latency: LatencySummary;
  /** Mean, min and max of the `depth` the answers reported; null when none did. */
  depth: { mean: number; min: number; max: number } | null;
}

export interface RampHooks {
  /** Called once with the performance.now() time the ramp's clock starts at. */
  onStart?: (t0: number) => void;
}

/** Send offsets (ms from the ramp's start) and the window of each, ascending. */
export function rampSchedule(cfg: RampConfig): { offsets: Float64Array; window: Uint16Array } {
  if (cfg.windows.length === 0) throw new Error('a ramp needs at least one window');
  if (cfg.windows.length > 0xffff) throw new Error('too many ramp windows');
  const offsets: number[] = [];
  const window: number[] = [];
  let start = 0;
  cfg.windows.forEach((w, i) => {
    if (!(w.durationMs > 0)) throw new Error(`ramp window ${i}: duration must be > 0`);
    // One stream per window: changing one window's rate leaves the others' arrivals alone.
    const rng = Rng.derive(cfg.seed, 'ramp', i, Math.round(w.rps * 1000));
    if (w.rps > 0) {
      for (const o of scheduleArrivals({ rps: w.rps, burst: null }, w.durationMs, rng)) {
        offsets.push(start + o);
        window.push(i);
      }
    }
    start += w.durationMs;
  });
  return { offsets: Float64Array.from(offsets), window: Uint16Array.from(window) };
}

const START_LEAD_MS = 5;

class WindowTally {
  scheduled = 0;
  ok = 0;
  errors = 0;
  timeouts = 0;
  items = 0;
  depthSum = 0;
  depthCount = 0;
  depthMin = Infinity;
  depthMax = -Infinity;
  readonly errorsByStatus: Record<string, number> = {};
  readonly latency = new LatencyHistogram();

  result(index: number, startS: number, w: RampWindow): RampWindowResult {
    const durationS = w.durationMs / 1000;
    const r: RampWindowResult = {
      index,
      startS,
      durationS,
      offeredRps: w.rps,
      scheduled: this.scheduled,
      ok: this.ok,
      errors: this.errors,
      errorsByStatus: this.errorsByStatus,
      timeouts: this.timeouts,
      achievedRps: this.ok / durationS,
      itemsPerSecond: this.items / durationS,
      latency: this.latency.summary(),
      depth: this.depthCount === 0 ? null : { mean: this.depthSum / this.depthCount, min: this.depthMin, max: this.depthMax },
    };
    this.latency.destroy();
    return r;
  }
}

/** Runs the ramp; resolves once every request has finished or timed out. */
export function runRamp(target: ScoreTarget, source: RequestSource, cfg: RampConfig, hooks: RampHooks = {}): Promise<RampWindowResult[]> {
  const { offsets, window } = rampSchedule(cfg);
  const tallies = cfg.windows.map(() => new WindowTally());
  const n = offsets.length;
  let next = 0;
  let inflight = 0;

  return new Promise<RampWindowResult[]>((resolve) => {
    const t0 = performance.now() + START_LEAD_MS;
    hooks.onStart?.(t0);

    const finishIfDone = (): void => {
      if (next < n || inflight > 0) return;
      let start = 0;
      resolve(
        cfg.windows.map((w, i) => {
          const r = (tallies[i] as WindowTally).result(i, start / 1000, w);
          start += w.durationMs;
          return r;
        }),
      );
    };

    const fire = (k: number): void => {
      const scheduledAt = t0 + (offsets[k] as number);
      const tally = tallies[window[k] as number] as WindowTally;
      const req = source.next(scheduledAt);
      const sentAt = performance.now();
      tally.scheduled++;
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          ac.abort();
        },
        Math.max(0, scheduledAt + (req.timeoutMs ?? cfg.timeoutMs) - sentAt),
      );
      inflight++;
      const done = (r: SendResult | null): void => {
        clearTimeout(timer);
        const end = performance.now();
        inflight--;
        if (timedOut && (r === null || r.status !== 200)) {
          tally.timeouts++;
          tally.latency.recordMs(end - scheduledAt);
        } else if (r !== null && r.status === 200) {
          tally.ok++;
          tally.items += r.scoredItems ?? req.items.length;
          tally.latency.recordMs(end - scheduledAt);
          if (r.depth !== undefined) {
            tally.depthSum += r.depth;
            tally.depthCount++;
            tally.depthMin = Math.min(tally.depthMin, r.depth);
            tally.depthMax = Math.max(tally.depthMax, r.depth);
          }
        } else {
          tally.errors++;
          const key = String(r?.status ?? STATUS_TRANSPORT_ERROR);
          tally.errorsByStatus[key] = (tally.errorsByStatus[key] ?? 0) + 1;
        }
        finishIfDone();
      };
      target.send(req, ac.signal).then(done, () => done(null));
    };

    const tick = (): void => {
      const now = performance.now();
      while (next < n && t0 + (offsets[next] as number) <= now) fire(next++);
      if (next < n) {
        const wait = t0 + (offsets[next] as number) - performance.now();
        if (wait >= 1) setTimeout(tick, Math.floor(wait));
        else setImmediate(tick);
      } else finishIfDone();
    };
    setTimeout(tick, START_LEAD_MS);
  });
}

/**
 * A ramp profile: `lowRps` for `holdLowS`, a linear climb to `peakRps` over `rampS`, `holdPeakS`
 * at the peak, the same descent, and `lowRps` again for `holdLowS`, in windows of `windowS`
 * (each window at the rate of its midpoint).
 */
export function trapezoidRamp(o: { lowRps: number; peakRps: number; holdLowS: number; rampS: number; holdPeakS: number; windowS: number }): RampWindow[] {
  const total = 2 * o.holdLowS + 2 * o.rampS + o.holdPeakS;
  const rateAt = (t: number): number => {
    if (t < o.holdLowS) return o.lowRps;
    if (t < o.holdLowS + o.rampS) return o.lowRps + ((t - o.holdLowS) / o.rampS) * (o.peakRps - o.lowRps);
    if (t < o.holdLowS + o.rampS + o.holdPeakS) return o.peakRps;
    if (t < o.holdLowS + 2 * o.rampS + o.holdPeakS) return o.peakRps - ((t - o.holdLowS - o.rampS - o.holdPeakS) / o.rampS) * (o.peakRps - o.lowRps);
    return o.lowRps;
  };
  const out: RampWindow[] = [];
  for (let t = 0; t < total - 1e-9; t += o.windowS) {
    const w = Math.min(o.windowS, total - t);
    out.push({ rps: +rateAt(t + w / 2).toFixed(3), durationMs: w * 1000 });
  }
  return out;
}
