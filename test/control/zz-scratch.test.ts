import { it } from 'vitest';
import { simulateShaping } from '../../src/control/shaping-sim.js';
import { AimdBudget } from '../../src/control/budget.js';
it('sim', async () => {
  const t0 = performance.now();
  for (const [thrash, burstRps, gapRps] of [[0.25, 400, 60], [0.2, 400, 50], [0.1, 400, 50], [0, 400, 50]] as const) {
    const o = { backend: { thrash }, burstRps, gapRps };
    const f = (r: any) => `on ${r.onTime} late ${r.late} ref ${r.refused} unf ${r.unfinished} good ${Math.round(r.goodputTokensPerS/1000)}k peak ${r.peakInFlightTokens}`;
    console.log(thrash, burstRps, gapRps, '| off', f(await simulateShaping(false, o)), '| on', f(await simulateShaping(true, o)), '| aimd', f(await simulateShaping(true, {...o, budget: new AimdBudget({ targetLatencyMs: 150, minTokens: 8192 })})));
  }
  console.log(performance.now() - t0);
});
