import { Rng } from '../rng.js';
import { scheduleArrivals } from './arrivals.js';
import { type LatencySummary, LatencyHistogram } from './histogram.js';
import { sendOnSchedule } from './scheduled-send.js';
import type { RequestSource, ScoreTarget } from './target.js';

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
  /** Phase of the ramp the window belongs to ("low", "up", "peak", ...): figures are also given per phase. */
  phase?: string;
}

export interface RampConfig {
  windows: readonly RampWindow[];
  /** Per request, from its scheduled send time. */
  timeoutMs: number;
  seed: number;
}

/** What a window or a phase counted, over its duration. */
export interface RampFigures {
  scheduled: number;
  ok: number;
  errors: number;
  timeouts: number;
  achievedRps: number;
  /** Scored items (SendResult.scoredItems, else items sent) of successes per second. */
  itemsPerSecond: number;
  latency: LatencySummary;
  /** Mean, min and max of the `depth` the answers reported; null when none did. */
  depth: { mean: number; min: number; max: number } | null;
}

export interface RampWindowResult extends RampFigures {
  index: number;
  phase: string | null;
  /** Window start, seconds from the start of the ramp. */
  startS: number;
  durationS: number;
  offeredRps: number;
  errorsByStatus: Record<string, number>;
}

/** A phase's figures: its windows pooled (latency percentiles over all of its requests). */
export interface RampPhaseResult extends RampFigures {
  phase: string;
  startS: number;
  durationS: number;
  minRps: number;
  maxRps: number;
}

export interface RampResult {
  windows: RampWindowResult[];
  phases: RampPhaseResult[];
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

  success(latencyMs: number, items: number, depth: number | undefined): void {
    this.ok++;
    this.items += items;
    this.latency.recordMs(latencyMs);
    if (depth !== undefined) {
      this.depthSum += depth;
      this.depthCount++;
      this.depthMin = Math.min(this.depthMin, depth);
      this.depthMax = Math.max(this.depthMax, depth);
    }
  }

  timeout(latencyMs: number): void {
    this.timeouts++;
    this.latency.recordMs(latencyMs);
  }

  error(status: number): void {
    this.errors++;
    const key = String(status);
    this.errorsByStatus[key] = (this.errorsByStatus[key] ?? 0) + 1;
  }

  depth(): { mean: number; min: number; max: number } | null {
    return this.depthCount === 0 ? null : { mean: this.depthSum / this.depthCount, min: this.depthMin, max: this.depthMax };
  }

  /** The tally's figures over `durationS`; the histogram is released (call once). */
  figures(durationS: number): RampFigures {
    const f: RampFigures = {
      scheduled: this.scheduled,
      ok: this.ok,
      errors: this.errors,
      timeouts: this.timeouts,
      achievedRps: this.ok / durationS,
      itemsPerSecond: this.items / durationS,
      latency: this.latency.summary(),
      depth: this.depth(),
    };
    this.latency.destroy();
    return f;
  }

  result(index: number, startS: number, w: RampWindow): RampWindowResult {
    const durationS = w.durationMs / 1000;
    return { index, phase: w.phase ?? null, startS, durationS, offeredRps: w.rps, errorsByStatus: this.errorsByStatus, ...this.figures(durationS) };
  }
}

/** Phases in order of first appearance, each with the indices of its windows. */
export function rampPhases(windows: readonly RampWindow[]): Array<{ phase: string; windows: number[] }> {
  const out: Array<{ phase: string; windows: number[] }> = [];
  windows.forEach((w, i) => {
    if (w.phase === undefined) return;
    let p = out.find((x) => x.phase === w.phase);
    if (p === undefined) {
      p = { phase: w.phase, windows: [] };
      out.push(p);
    }
    p.windows.push(i);
  });
  return out;
}

/** Runs the ramp; resolves once every request has finished or timed out. */
export function runRamp(target: ScoreTarget, source: RequestSource, cfg: RampConfig, hooks: RampHooks = {}): Promise<RampResult> {
  const { offsets, window } = rampSchedule(cfg);
  const tallies = cfg.windows.map(() => new WindowTally());
  const phases = rampPhases(cfg.windows);
  const phaseTallies = phases.map(() => new WindowTally());
  const phaseOf = new Int32Array(cfg.windows.length).fill(-1);
  phases.forEach((p, k) => {
    for (const i of p.windows) phaseOf[i] = k;
  });
  const starts: number[] = [];
  let at = 0;
  for (const w of cfg.windows) {
    starts.push(at);
    at += w.durationMs;
  }
  const n = offsets.length;
  let next = 0;
  let inflight = 0;

  return new Promise<RampResult>((resolve) => {
    const t0 = performance.now() + START_LEAD_MS;
    hooks.onStart?.(t0);

    const finishIfDone = (): void => {
      if (next < n || inflight > 0) return;
      const windows = cfg.windows.map((w, i) => (tallies[i] as WindowTally).result(i, (starts[i] as number) / 1000, w));
      const phaseResults = phases.map((p, k): RampPhaseResult => {
        const t = phaseTallies[k] as WindowTally;
        const ws = p.windows.map((i) => cfg.windows[i] as RampWindow);
        const durationS = ws.reduce((a, w) => a + w.durationMs, 0) / 1000;
        const r: RampPhaseResult = {
          phase: p.phase,
          startS: (starts[p.windows[0] as number] as number) / 1000,
          durationS,
          minRps: Math.min(...ws.map((w) => w.rps)),
          maxRps: Math.max(...ws.map((w) => w.rps)),
          ...t.figures(durationS),
        };
        return r;
      });
      resolve({ windows, phases: phaseResults });
    };

    const fire = (k: number): void => {
      const scheduledAt = t0 + (offsets[k] as number);
      const w = window[k] as number;
      const tally = tallies[w] as WindowTally;
      const phase = phaseOf[w] as number;
      const group = phase < 0 ? null : (phaseTallies[phase] as WindowTally);
      const req = source.next(scheduledAt);
      const sentAt = performance.now();
      tally.scheduled++;
      if (group !== null) group.scheduled++;
      inflight++;
      sendOnSchedule(target, req, scheduledAt, sentAt, cfg.timeoutMs, (outcome, end) => {
        inflight--;
        if (outcome.kind === 'timeout') {
          tally.timeout(end - scheduledAt);
          group?.timeout(end - scheduledAt);
        } else if (outcome.kind === 'ok') {
          const items = outcome.result.scoredItems ?? req.items.length;
          tally.success(end - scheduledAt, items, outcome.result.depth);
          group?.success(end - scheduledAt, items, outcome.result.depth);
        } else {
          tally.error(outcome.status);
          group?.error(outcome.status);
        }
        finishIfDone();
      });
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
 * at the peak, the same descent, and `lowRps` again for `holdLowEndS`, in windows of `windowS`
 * (each window at the rate of its midpoint), labelled with their phase.
 */
export function trapezoidRamp(o: {
  lowRps: number;
  peakRps: number;
  holdLowS: number;
  rampS: number;
  holdPeakS: number;
  windowS: number;
  /** Off-peak time after the descent (default holdLowS). */
  holdLowEndS?: number;
}): RampWindow[] {
  const total = o.holdLowS + 2 * o.rampS + o.holdPeakS + (o.holdLowEndS ?? o.holdLowS);
  const at = (t: number): [number, string] => {
    if (t < o.holdLowS) return [o.lowRps, 'off-peak (start)'];
    if (t < o.holdLowS + o.rampS) return [o.lowRps + ((t - o.holdLowS) / o.rampS) * (o.peakRps - o.lowRps), 'ramp up'];
    if (t < o.holdLowS + o.rampS + o.holdPeakS) return [o.peakRps, 'peak'];
    if (t < o.holdLowS + 2 * o.rampS + o.holdPeakS) return [o.peakRps - ((t - o.holdLowS - o.rampS - o.holdPeakS) / o.rampS) * (o.peakRps - o.lowRps), 'ramp down'];
    return [o.lowRps, 'off-peak (end)'];
  };
  const out: RampWindow[] = [];
  for (let t = 0; t < total - 1e-9; t += o.windowS) {
    const w = Math.min(o.windowS, total - t);
    const [rps, phase] = at(t + w / 2);
    out.push({ rps: +rps.toFixed(3), durationMs: w * 1000, phase });
  }
  return out;
}
