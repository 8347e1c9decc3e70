import { describe, expect, it } from 'vitest';
import { AimdBudget } from '../../src/control/budget.js';
import { simulateShaping } from '../../src/control/shaping-sim.js';

describe('simulateShaping: on/off bursts against a backend whose latency grows with tokens in flight', () => {
  it('with shaping on, more requests finish within their deadline than with shaping off', async () => {
    const seed = Number(process.env.SHAPING_SIM_SEED ?? 1);
    const off = await simulateShaping(false, { seed });
    const on = await simulateShaping(true, { seed });
    expect(on.arrived).toBe(off.arrived); // the same seeded arrivals
    expect(off.refused).toBe(0);
    for (const r of [on, off]) expect(r.onTime + r.late + r.refused + r.unfinished).toBe(r.arrived);

    // The mechanism: burst work waits for the gap instead of crowding the backend past its knee.
    expect(on.peakInFlightTokens).toBeLessThanOrEqual(65_536);
    expect(off.peakInFlightTokens).toBeGreaterThan(2 * 65_536);
    expect(on.onTime).toBeGreaterThan(1.15 * off.onTime);
    expect(on.goodputTokensPerS).toBeGreaterThan(1.15 * off.goodputTokensPerS);
    // Work that could not make it is refused before it costs GPU time, not finished late.
    expect(on.late).toBeLessThan(off.late / 3);
    expect(on.refused).toBeGreaterThan(0);
  });

  it('an adaptive budget with a latency target does as well as a tuned static one', async () => {
    const off = await simulateShaping(false);
    const tuned = await simulateShaping(true);
    const adaptive = await simulateShaping(true, {
      budget: new AimdBudget({ initialTokens: 16_384, minTokens: 8192, targetLatencyMs: 150 }),
    });
    expect(adaptive.onTime).toBeGreaterThan(1.15 * off.onTime);
    expect(adaptive.onTime).toBeGreaterThan(0.95 * tuned.onTime);
  });
});
