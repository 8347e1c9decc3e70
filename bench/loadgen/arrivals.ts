import type { Rng } from '../rng.js';

/**
 * Open-loop arrival processes. Every send time of a step is drawn before the step starts, so
 * nothing the target does (slow answers, errors) can delay or thin out later arrivals: that is
 * what keeps the load generator free of coordinated omission.
 */

/** On/off modulated Poisson: rate ratio*mean during "on", a lower rate during "off". */
export interface BurstConfig {
  /** Rate during "on" periods divided by the mean rate (>= 1). */
  ratio: number;
  onSeconds: number;
  offSeconds: number;
}

export interface ArrivalConfig {
  /** Mean requests per second over the long run. */
  rps: number;
  /** null: plain Poisson arrivals. */
  burst: BurstConfig | null;
}

/** Why a burst config cannot keep the mean rate, or null when it can. */
export function burstConfigError(b: BurstConfig): string | null {
  if (!(b.onSeconds > 0) || !(b.offSeconds > 0)) return 'burst on/off periods must be > 0 seconds';
  if (!(b.ratio >= 1)) return 'burst ratio must be >= 1';
  const maxRatio = (b.onSeconds + b.offSeconds) / b.onSeconds;
  if (b.ratio > maxRatio + 1e-9) {
    return `burst ratio ${b.ratio} cannot keep the mean rate with on=${b.onSeconds}s off=${b.offSeconds}s (max ${maxRatio.toFixed(3)})`;
  }
  return null;
}

/** Rates of the two phases that keep (on*rOn + off*rOff)/(on+off) equal to the mean. */
export function burstRates(rps: number, b: BurstConfig): { on: number; off: number } {
  const on = rps * b.ratio;
  const off = Math.max(0, (rps * (b.onSeconds + b.offSeconds) - on * b.onSeconds) / b.offSeconds);
  return { on, off };
}

/**
 * Send offsets in milliseconds from the step start, ascending, all < durationMs.
 *
 * Poisson gaps are exponential. The modulated process is sampled by time rescaling: a unit-rate
 * exponential amount of "intensity" is consumed at the current phase's rate, carrying over into
 * the next phase when the phase ends. Memorylessness makes this exact, including an off rate of 0.
 */
export function scheduleArrivals(cfg: ArrivalConfig, durationMs: number, rng: Rng): Float64Array {
  if (!(cfg.rps > 0)) throw new Error(`rps must be > 0, got ${cfg.rps}`);
  const out: number[] = [];
  const horizon = durationMs / 1000;
  if (cfg.burst === null) {
    let t = rng.exponential(1 / cfg.rps);
    while (t < horizon) {
      out.push(t * 1000);
      t += rng.exponential(1 / cfg.rps);
    }
    return Float64Array.from(out);
  }
  const err = burstConfigError(cfg.burst);
  if (err) throw new Error(err);
  const { onSeconds, offSeconds } = cfg.burst;
  const rates = burstRates(cfg.rps, cfg.burst);
  // A random phase, so that a step does not always open with a burst.
  const phase = rng.next() * (onSeconds + offSeconds);
  let on = phase < onSeconds;
  let left = on ? onSeconds - phase : onSeconds + offSeconds - phase;
  let t = 0;
  let need = rng.exponential(1);
  while (t < horizon) {
    const rate = on ? rates.on : rates.off;
    if (rate > 0 && need <= rate * left) {
      const dt = need / rate;
      t += dt;
      left -= dt;
      if (t < horizon) out.push(t * 1000);
      need = rng.exponential(1);
    } else {
      need -= rate * left;
      t += left;
      on = !on;
      left = on ? onSeconds : offSeconds;
    }
  }
  return Float64Array.from(out);
}
