import type { BudgetLimiter } from './budget.js';
import { SimRandom } from './sim-random.js';
import { ShaperRefused } from './shaper-errors.js';
import { type AdmissionTicket, TrafficShaper } from './traffic-shaper.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * A simulated comparison of shaping on and off: an on/off (bursty) Poisson arrival process
 * against a modelled GPU backend whose latency grows with the tokens in flight. It demonstrates
 * the mechanism the shaper exists for: burst work deferred into the idle gap that follows keeps
 * the backend in its efficient range, so more requests finish within their deadline; requests
 * that could not make it anyway are refused before costing GPU time. A simulation, not a
 * measurement: reports built on it must say so.
 */
export interface ShapingSimOptions {
  /** Default 1; durationMs default 20000. */
  seed?: number;
  durationMs?: number;
  /** Burst phase length and the idle gap after it (defaults 500 and 1500 ms). */
  onMs?: number;
  offMs?: number;
  /** Arrival rates (requests per second) in the burst and in the gap (defaults 400 and 50). */
  burstRps?: number;
  gapRps?: number;
  /** Mean tokens per request (exponentially spread around it, at least 1; default 2200). */
  meanTokens?: number;
  /** Each request's deadline after its arrival (default 500 ms). */
  deadlineMs?: number;
  backend?: SimBackendOptions;
  /** Shaper budget (tokens or a limiter) when shaping is on; default backend.kneeTokens. */
  budget?: number | BudgetLimiter;
  /** Default 4096. */
  maxQueuedRequests?: number;
}

/**
 * The modelled backend: processor sharing (every call in flight progresses at an equal share)
 * at a total rate that depends on the tokens in flight. Below `saturationTokens` a batch is too
 * small to use the GPU fully; above `kneeTokens` the KV cache overflows and requests are
 * retracted and recomputed, so useful throughput falls by `thrash` per knee of excess.
 */
export interface SimBackendOptions {
  /** Peak throughput in tokens per ms (default 440: ~2000 items/s of ~220 tokens). */
  capacityTokensPerMs?: number;
  /** Default 16384. */
  saturationTokens?: number;
  /** Default 65536. */
  kneeTokens?: number;
  /** Default 0.1 (0 is pure processor sharing: shaping still wins on deadlines, by less). */
  thrash?: number;
}

export interface ShapingSimResult {
  shaped: boolean;
  arrived: number;
  /** Finished by their deadline. */
  onTime: number;
  /** Finished after their deadline (GPU time spent for nothing). */
  late: number;
  /** Refused before dispatch (shaping on only). */
  refused: number;
  /** Still in flight or queued when the run ended. */
  unfinished: number;
  /** Tokens of on-time requests per second: the useful throughput. */
  goodputTokensPerS: number;
  /** Highest tokens in flight at the backend. */
  peakInFlightTokens: number;
}

interface SimCall {
  tokens: number;
  remaining: number;
  deadlineAt: number;
  dispatchedAt: number;
  ticket: AdmissionTicket | null;
}

const STEP_MS = 1;

function backendRate(inFlight: number, b: Required<SimBackendOptions>): number {
  const fill = Math.min(1, inFlight / b.saturationTokens);
  const excess = Math.max(0, inFlight - b.kneeTokens) / b.kneeTokens;
  return (b.capacityTokensPerMs * fill) / (1 + b.thrash * excess);
}

/** Runs the same seeded arrivals with shaping on or off. */
export async function simulateShaping(shaped: boolean, o: ShapingSimOptions = {}): Promise<ShapingSimResult> {
  const b: Required<SimBackendOptions> = {
    capacityTokensPerMs: 440,
    saturationTokens: 16_384,
    kneeTokens: 65_536,
    thrash: 0.1,
    ...o.backend,
  };
  const duration = o.durationMs ?? 20_000;
  const onMs = o.onMs ?? 500;
  const offMs = o.offMs ?? 1500;
  const burstRps = o.burstRps ?? 400;
  const gapRps = o.gapRps ?? 50;
  const meanTokens = o.meanTokens ?? 2200;
  const deadlineMs = o.deadlineMs ?? 500;

  const clock = new VirtualClock(0);
  const shaper = shaped
    ? new TrafficShaper({ budget: o.budget ?? b.kneeTokens, clock, maxQueuedRequests: o.maxQueuedRequests ?? 4096 })
    : null;
  const rng = new SimRandom(o.seed ?? 1);
  const inFlight: SimCall[] = [];
  let inFlightTokens = 0;
  const r: ShapingSimResult = {
    shaped,
    arrived: 0,
    onTime: 0,
    late: 0,
    refused: 0,
    unfinished: 0,
    goodputTokensPerS: 0,
    peakInFlightTokens: 0,
  };
  let goodTokens = 0;

  const dispatch = (c: SimCall): void => {
    c.dispatchedAt = clock.now();
    inFlight.push(c);
    inFlightTokens += c.tokens;
  };

  let nextArrival = 0;
  for (let t = 0; t < duration; t += STEP_MS) {
    clock.advanceTo(t);
    // Arrivals in [t, t + step): Poisson at the rate of the phase they fall in.
    while (nextArrival < t + STEP_MS) {
      const tokens = Math.max(1, Math.round(rng.exponential(meanTokens)));
      const c: SimCall = { tokens, remaining: tokens, deadlineAt: nextArrival + deadlineMs, dispatchedAt: 0, ticket: null };
      r.arrived++;
      if (shaper === null) dispatch(c);
      else
        shaper.admit(tokens, c.deadlineAt, 'online').then(
          (ticket) => {
            c.ticket = ticket;
            dispatch(c);
          },
          (e: unknown) => {
            if (!(e instanceof ShaperRefused)) throw e;
            r.refused++;
          },
        );
      const inBurst = nextArrival % (onMs + offMs) < onMs;
      nextArrival += rng.exponential(1000 / (inBurst ? burstRps : gapRps));
    }
    // Let admissions and refusals settle at this instant.
    await new Promise<void>((resolve) => setImmediate(resolve));

    if (inFlightTokens > r.peakInFlightTokens) r.peakInFlightTokens = inFlightTokens;
    if (inFlight.length === 0) continue;
    const share = (backendRate(inFlightTokens, b) * STEP_MS) / inFlight.length;
    const done = t + STEP_MS;
    let w = 0;
    for (const c of inFlight) {
      c.remaining -= share;
      if (c.remaining > 0) {
        inFlight[w++] = c;
        continue;
      }
      inFlightTokens -= c.tokens;
      if (done <= c.deadlineAt) {
        r.onTime++;
        goodTokens += c.tokens;
      } else r.late++;
      if (shaper !== null && c.ticket !== null) shaper.release(c.ticket, done - c.dispatchedAt);
    }
    inFlight.length = w;
  }
  r.unfinished = r.arrived - r.onTime - r.late - r.refused;
  r.goodputTokensPerS = (goodTokens * 1000) / duration;
  shaper?.close();
  return r;
}
