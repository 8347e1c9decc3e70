import { type FittedConstants, FITTED, deriveCost, PROFILE_SHAPES } from '../../src/emulator/profiles.js';
import { ITEMS_PER_REQUEST, TABLE7, sampleWorkload } from './table7.js';
import { type SimWorkload, maxRpsAtSlo } from './simulate.js';

/**
 * Fits the cost model's two shared constants to Table 7 on a virtual clock, and prints the fit
 * and its residuals. `npm run bench:fit`. The result is pasted into src/emulator/profiles.ts.
 */
function predict(k: FittedConstants, workloads: Map<string, SimWorkload>): number[] {
  return TABLE7.map((c) => {
    const cost = deriveCost(PROFILE_SHAPES[c.profile]!, undefined, k);
    return maxRpsAtSlo(cost, workloads.get(c.corpus)!) * ITEMS_PER_REQUEST;
  });
}

function loss(pred: number[]): number {
  return TABLE7.reduce((s, c, i) => s + Math.log((pred[i] as number) / c.itemsPerSecond) ** 2, 0);
}

export function residualTable(k: FittedConstants, pred: number[]): string {
  const rows = TABLE7.map((c, i) => {
    const p = pred[i] as number;
    return `| ${c.label} | ${c.itemsPerSecond} | ${p.toFixed(0)} | ${(((p - c.itemsPerSecond) / c.itemsPerSecond) * 100).toFixed(1)}% |`;
  });
  return [
    `gpuEfficiency = ${k.gpuEfficiency.toFixed(4)}, tokenizeUsPerToken = ${k.tokenizeUsPerToken.toFixed(4)}`,
    '',
    '| case | Table 7 items/s | model items/s (simulated) | residual |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const workloads = new Map<string, SimWorkload>([
    ['full', sampleWorkload('full')],
    ['summarized', sampleWorkload('summarized')],
  ]);
  let best: { k: FittedConstants; loss: number; pred: number[] } | null = null;
  const consider = (k: FittedConstants): void => {
    const pred = predict(k, workloads);
    const l = loss(pred);
    if (best === null || l < best.loss) best = { k, loss: l, pred };
  };
  // Coarse grid, then two rounds of refinement around the best point (log-spaced).
  let effs = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.45, 0.6];
  let toks = [1.0, 1.5, 1.8, 2.1, 2.4, 2.7, 3.0, 3.5];
  for (let round = 0; round < 3; round++) {
    for (const e of effs) for (const t of toks) consider({ gpuEfficiency: e, tokenizeUsPerToken: t });
    const b = best as unknown as { k: FittedConstants };
    const span = 0.25 / (round + 1);
    effs = [-2, -1, 0, 1, 2].map((d) => b.k.gpuEfficiency * (1 + (d * span) / 2));
    toks = [-2, -1, 0, 1, 2].map((d) => b.k.tokenizeUsPerToken * (1 + (d * span) / 2));
    process.stderr.write(`round ${round}: ${residualTable(b.k, (best as unknown as { pred: number[] }).pred).split('\n')[0]}\n`);
  }
  const b = best as unknown as { k: FittedConstants; pred: number[] };
  console.log(residualTable(b.k, b.pred));
  console.log('\ncurrently in profiles.ts:');
  console.log(residualTable(FITTED, predict(FITTED, workloads)));
}

void main();
