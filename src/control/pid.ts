/**
 * A positional PID controller with the protections a production loop needs:
 * - anti-windup by conditional integration: while the output is held at a bound or by the rate
 *   limit, error that would push it further is not integrated, and the integral itself is
 *   clamped, so a long overload cannot leave a debt that overshoots once it ends;
 * - a rate limit on how far the output moves per update and per second;
 * - a deadband, so measurement noise around the target does not keep the output moving;
 * - derivative on the (low-pass filtered) error, off by default.
 * Units are the caller's: the depth controller runs it on ln(depth) with a log error.
 */
export interface PidOptions {
  kp: number;
  /** Per second. */
  ki: number;
  /** Seconds. */
  kd?: number;
  /** The output when every term is zero. */
  bias: number;
  outMin: number;
  outMax: number;
  /** Largest output change per update (default Infinity). */
  maxStepPerUpdate?: number;
  /** Largest output change per second of dt (default Infinity). */
  maxStepPerSecond?: number;
  /** |error| below this counts as zero (default 0). */
  deadband?: number;
  /** Weight of each new derivative sample in its low-pass filter (default 0.3). */
  derivativeSmoothing?: number;
}

export class Pid {
  private readonly o: Required<PidOptions>;
  private out: number;
  private integral = 0;
  private lastError = NaN;
  private dFiltered = 0;
  private p = 0;
  private d = 0;
  private e = 0;
  private saturated = false;

  constructor(o: PidOptions) {
    this.o = {
      kd: 0,
      maxStepPerUpdate: Infinity,
      maxStepPerSecond: Infinity,
      deadband: 0,
      derivativeSmoothing: 0.3,
      ...o,
    };
    if (!(o.outMin <= o.outMax)) throw new RangeError('outMin must be <= outMax');
    this.out = clamp(o.bias, o.outMin, o.outMax);
  }

  get output(): number {
    return this.out;
  }
  get error(): number {
    return this.e;
  }
  get pTerm(): number {
    return this.p;
  }
  /** The integral term (already multiplied by ki). */
  get iTerm(): number {
    return this.integral;
  }
  get dTerm(): number {
    return this.d;
  }
  /** Whether the last update was held by a bound or the rate limit. */
  get isSaturated(): boolean {
    return this.saturated;
  }

  /** One control step: error (positive raises the output) over dtS seconds; returns the output. */
  update(error: number, dtS: number): number {
    const o = this.o;
    const e = Math.abs(error) < o.deadband ? 0 : error;
    this.e = e;
    this.p = o.kp * e;
    if (o.kd !== 0 && dtS > 0 && !Number.isNaN(this.lastError)) {
      const raw = (e - this.lastError) / dtS;
      this.dFiltered += o.derivativeSmoothing * (raw - this.dFiltered);
      this.d = o.kd * this.dFiltered;
    } else this.d = 0;
    this.lastError = e;

    // The integral the output range can use: beyond it, integrating only stores windup.
    const iMin = o.outMin - o.bias;
    const iMax = o.outMax - o.bias;
    const candidate = clamp(this.integral + o.ki * e * dtS, iMin, iMax);
    const raw = o.bias + this.p + candidate + this.d;
    const step = Math.min(o.maxStepPerUpdate, o.maxStepPerSecond * dtS);
    const limited = clamp(clamp(raw, this.out - step, this.out + step), o.outMin, o.outMax);
    this.saturated = limited !== raw;
    // Conditional integration: keep the new integral unless the output is held and this error
    // would drive it further into the limit.
    const pushingFurther = (raw > limited && e > 0) || (raw < limited && e < 0);
    if (!(this.saturated && pushingFurther)) this.integral = candidate;
    this.out = limited;
    return limited;
  }

  /** Forgets history (e.g. after the target changes) without moving the output. */
  reset(): void {
    this.integral = this.out - this.o.bias;
    this.lastError = NaN;
    this.dFiltered = 0;
    this.p = 0;
    this.d = 0;
    this.e = 0;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
