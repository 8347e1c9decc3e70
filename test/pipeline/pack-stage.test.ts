import { describe, expect, it } from 'vitest';
import { planPacks } from '../../src/pipeline/pack-stage.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';

function job(qLen: number, itemLens: number[]): ScoreJob {
  const j = new ScoreJob();
  j.reserve(itemLens.length);
  j.n = itemLens.length;
  j.qLen = qLen;
  itemLens.forEach((l, i) => {
    j.aLen[i] = l;
    j.bLen[i] = 0;
  });
  return j;
}

function packs(j: ScoreJob): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < j.nPacks; k++) out.push([j.packStart[k] as number, j.packStart[k + 1] as number]);
  return out;
}

describe('packing items into backend calls', () => {
  it('fits MIS packs under the budget, counting the query once per pack and a delimiter per item', () => {
    // query 10 + final delimiter 1; each item costs len + 1.
    const j = job(10, [20, 20, 20, 20, 20]);
    planPacks(j, true, 11 + 21 * 2);
    expect(packs(j)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
  });

  it('keeps one too-long item alone so the backend answers for it', () => {
    const j = job(10, [5, 500, 5]);
    planPacks(j, true, 100);
    expect(packs(j)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('bounds single-item calls by whole prompt tokens', () => {
    const j = job(10, [40, 40, 40]);
    planPacks(j, false, 100);
    expect(packs(j)).toEqual([
      [0, 2],
      [2, 3],
    ]);
    const empty = job(10, []);
    planPacks(empty, true, 100);
    expect(empty.nPacks).toBe(0);
  });
});
