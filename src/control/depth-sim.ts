import { DepthController, type DepthControllerOptions } from './depth-controller.js';
import { SimRandom } from './sim-random.js';

/**
 * A closed-loop simulation of the depth controller against a modelled scoring fleet, for tests
 * and for the report's chart. The plant is one FIFO queue for the whole fleet (M/G/1):
 * a request ranking D candidates needs overheadMs + D / capacity seconds of GPU time, so the
 * latency the controller sees depends on offered load x depth, and near saturation it rises
 * steeply, as a real fleet's does. Arrivals are Poisson at a rate that follows `loadRps(tS)`.
 * Pure and seeded: the same options give the same series.
 */
export interface DepthSimOptions {
  seed?: number;
  durationS?: number;
  tickMs?: number;
  /** Offered load in requests per second at time tS (default: steps, see defaultLoadProfile). */
  loadRps?: (tS: number) => number;
  /** Fleet throughput in candidates scored per second (default 8000: four GPUs at ~2000 items/s). */
  capacityItemsPerS?: number;
  /** Fixed GPU time per request besides its items (default 10 ms). */
  overheadMs?: number;
  /**
   * Coefficient of variation of service times: 1 is exponential (M/M/1), 0 deterministic
   * (M/D/1). Default 0.5: a scoring call's cost is mostly set by its tokens, so it varies less
   * than an exponential. Rounded to a gamma shape 1 / cv^2 summed from exponentials.
   */
  serviceCv?: number;
  controller?: DepthControllerOptions;
}

export interface DepthSimPoint {
  tS: number;
  loadRps: number;
  depth: number;
  /** The controller's windowed quantile at this tick (NaN while the window is empty). */
  p95Ms: number;
  targetMs: number;
  error: number;
  pTerm: number;
  iTerm: number;
  dTerm: number;
  /** Requests completed during this tick. */
  completed: number;
}

/** Base load (20 rps), a 2x peak from 300 s to 600 s, then off-peak at 0.25x until the end. */
export function defaultLoadProfile(tS: number): number {
  if (tS < 300) return 20;
  if (tS < 600) return 40;
  return 5;
}

export function simulateDepthControl(o: DepthSimOptions = {}): DepthSimPoint[] {
  const durationS = o.durationS ?? 900;
  const tickMs = o.tickMs ?? 1000;
  const loadRps = o.loadRps ?? defaultLoadProfile;
  const capacity = o.capacityItemsPerS ?? 8000;
  const overheadMs = o.overheadMs ?? 10;
  const cv = o.serviceCv ?? 0.5;
  const shape = cv > 0 ? Math.max(1, Math.round(1 / (cv * cv))) : 0;
  const ctl = new DepthController({ tickMs, ...o.controller });
  const queueDelay = ctl.signal === 'queue-delay';
  const rng = new SimRandom(o.seed ?? 7);

  // Completions of a FIFO single server leave in arrival order, so a plain FIFO of
  // (finish time, measured value) is enough; nothing is observed before it has finished.
  const doneAt: number[] = [];
  const value: number[] = [];
  let head = 0;
  let serverFreeAt = 0;
  let nextArrival = rng.exponential(1000 / Math.max(1e-9, loadRps(0)));
  const series: DepthSimPoint[] = [];

  for (let t = tickMs; t <= durationS * 1000; t += tickMs) {
    const depth = ctl.depth;
    while (nextArrival < t) {
      const meanMs = overheadMs + (depth * 1000) / capacity;
      let serviceMs = meanMs;
      if (shape > 0) {
        serviceMs = 0;
        for (let k = 0; k < shape; k++) serviceMs += rng.exponential(meanMs / shape);
      }
      const start = Math.max(nextArrival, serverFreeAt);
      serverFreeAt = start + serviceMs;
      doneAt.push(serverFreeAt);
      value.push(queueDelay ? start - nextArrival : serverFreeAt - nextArrival);
      const rate = loadRps(nextArrival / 1000);
      nextArrival += rate > 0 ? rng.exponential(1000 / rate) : tickMs;
    }
    let completed = 0;
    while (head < doneAt.length && (doneAt[head] as number) <= t) {
      ctl.observe(value[head] as number, doneAt[head] as number);
      head++;
      completed++;
    }
    if (head > 4096) {
      doneAt.splice(0, head);
      value.splice(0, head);
      head = 0;
    }
    ctl.tick(t);
    series.push({
      tS: t / 1000,
      loadRps: loadRps(t / 1000),
      depth: ctl.depth,
      p95Ms: ctl.measuredMs,
      targetMs: ctl.targetMs,
      error: ctl.error,
      pTerm: ctl.pTerm,
      iTerm: ctl.iTerm,
      dTerm: ctl.dTerm,
      completed,
    });
  }
  return series;
}
