import { VirtualClock } from '../../src/control/virtual-clock.js';
import { virtualTime } from '../../src/emulator/clock.js';
import { type CostParams, causalPairs, frontEndCostUs, tokenizeCostUs } from '../../src/emulator/cost-model.js';
import { PrefillScheduler, SerialResource } from '../../src/emulator/scheduler.js';
import { Rng } from '../rng.js';

/**
 * The emulator's direct text path (/v1/score, single-item mode), run on a virtual clock with the
 * same scheduler and front-end resource the server uses: request overhead, then SGLang's serial
 * front end (its per-request work and the tokenizer for each whole prompt), then
 * continuous-batching prefill. Used to fit the cost model;
 * bench:calibrate then checks the real emulator over HTTP.
 */
export interface SimWorkload {
  /** Prompt token counts (prefix + item) of each request's items. */
  requests: ReadonlyArray<ReadonlyArray<number>>;
}

export interface SimResult {
  rps: number;
  p50Ms: number;
  p95Ms: number;
  completed: number;
}

export function simulateAt(cost: CostParams, w: SimWorkload, rps: number, seconds: number, seed: number, warmupSeconds = 5): SimResult {
  const vc = new VirtualClock();
  const clock = virtualTime(vc);
  const tokenizer = new SerialResource(clock);
  const scheduler = new PrefillScheduler(cost, clock);
  const rng = new Rng(seed);
  const latencies: number[] = [];
  const endMs = (warmupSeconds + seconds) * 1000;
  let t = 0;
  let k = 0;
  let measuredCount = 0;
  let inFlight = 0;
  while (t < endMs) {
    t += (-Math.log(1 - rng.next()) / rps) * 1000;
    const lens = w.requests[k++ % w.requests.length] as ReadonlyArray<number>;
    let tokens = 0;
    for (const n of lens) tokens += n;
    const arrival = t;
    const measured = arrival >= warmupSeconds * 1000;
    if (measured) measuredCount++;
    vc.setTimer(arrival, () => {
      // The emulator counts a request in flight from its arrival to its answer.
      inFlight++;
      const frontUs = frontEndCostUs(cost, lens.length, tokens, inFlight) + tokenizeCostUs(cost, lens);
      clock.after(cost.requestOverheadUs / 1000, () => {
        tokenizer.acquire(frontUs, () => {
          scheduler.submit(lens, lens.map(causalPairs), () => {
            inFlight--;
            if (measured) latencies.push(clock.now() - arrival);
          });
        });
      });
    }, undefined);
  }
  // Requests still queued at the end count as very late, so overload can never look fast.
  vc.advanceTo(endMs + 30_000);
  while (latencies.length < measuredCount) latencies.push(Number.POSITIVE_INFINITY);
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.POSITIVE_INFINITY;
  return { rps, p50Ms: q(0.5), p95Ms: q(0.95), completed: latencies.length };
}

/** Highest request rate whose p95 stays within the SLO: geometric growth, then bisection. */
export function maxRpsAtSlo(cost: CostParams, w: SimWorkload, sloMs = 500, seconds = 60, seed = 7): number {
  const ok = (rps: number): boolean => simulateAt(cost, w, rps, seconds, seed).p95Ms <= sloMs;
  let lo = 1;
  let hi = 2;
  if (!ok(lo)) return 0;
  while (ok(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 100_000) return hi;
  }
  for (let i = 0; i < 14; i++) {
    const mid = Math.sqrt(lo * hi);
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
