/**
 * Fault knobs of the emulator, for testing what a proxy does when SGLang misbehaves. They apply
 * to the model routes (/v1/score, /generate) and can be changed at run time through
 * POST /emulator/faults.
 */
export interface Faults {
  /** Added to every model request, milliseconds. */
  extraLatencyMs: number;
  /** Share of model requests answered 500 InternalServerError. */
  errorRate: number;
  /** Share of model requests whose connection is destroyed without a response. */
  dropRate: number;
  /** Share of model requests answered 200 with a body that is not valid JSON. */
  malformedRate: number;
  /** Share of model requests that never answer (until the client gives up). */
  stallRate: number;
}

export const NO_FAULTS: Faults = { extraLatencyMs: 0, errorRate: 0, dropRate: 0, malformedRate: 0, stallRate: 0 };

export type FaultAction = 'none' | 'error' | 'drop' | 'malformed' | 'stall';

/** Deterministic fault draws (mulberry32), so a failing test run can be replayed. */
export class FaultInjector {
  private state: number;
  faults: Faults = { ...NO_FAULTS };

  constructor(seed = 0x5eed) {
    this.state = seed >>> 0;
  }

  private next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  update(patch: Partial<Faults>): Faults {
    for (const key of Object.keys(NO_FAULTS) as (keyof Faults)[]) {
      const v = patch[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`fault ${key} must be a non-negative number`);
      if (key !== 'extraLatencyMs' && v > 1) throw new Error(`fault ${key} is a rate in [0, 1]`);
      this.faults[key] = v;
    }
    return this.faults;
  }

  draw(): FaultAction {
    const f = this.faults;
    if (f.errorRate + f.dropRate + f.malformedRate + f.stallRate === 0) return 'none';
    let u = this.next();
    if ((u -= f.errorRate) < 0) return 'error';
    if ((u -= f.dropRate) < 0) return 'drop';
    if ((u -= f.malformedRate) < 0) return 'malformed';
    if ((u -= f.stallRate) < 0) return 'stall';
    return 'none';
  }
}
