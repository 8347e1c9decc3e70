import { describe, expect, it } from 'vitest';
import { type Batch, packJobs } from '../../src/pipeline/batch.js';
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
  j.selectAll();
  return j;
}

function shape(batches: Batch[]): Array<Array<[number, number, number]>> {
  return batches.map((b) => Array.from({ length: b.count }, (_, s) => [s, b.from[s] as number, b.to[s] as number] as [number, number, number]));
}

describe('packing items into backend calls', () => {
  it('fits MIS packs under the budget, counting the query once per pack and a delimiter per item', () => {
    const out: Batch[] = [];
    packJobs([job(10, [20, 20, 20, 20, 20])], true, 11 + 21 * 2, out);
    expect(shape(out)).toEqual([[[0, 0, 2]], [[0, 2, 4]], [[0, 4, 5]]]);
    expect(out[0]?.tokens).toBe(11 + 42);
  });

  it('keeps one too-long item alone so the backend answers for it', () => {
    const out: Batch[] = [];
    packJobs([job(10, [5, 500, 5])], true, 100, out);
    expect(out.map((b) => b.items)).toEqual([1, 1, 1]);
  });

  it('bounds single-item calls by whole prompt tokens', () => {
    const out: Batch[] = [];
    packJobs([job(10, [40, 40, 40])], false, 100, out);
    expect(out.map((b) => [b.items, b.tokens])).toEqual([
      [2, 100],
      [1, 50],
    ]);
  });

  it('strings several jobs that share a prefix into one pack, skipping their cache hits', () => {
    const a = job(10, [5, 5, 5]);
    a.active[0] = 0;
    a.active[1] = 2;
    a.nActive = 2;
    const b = job(10, [5, 5]);
    const out: Batch[] = [];
    packJobs([a, b], true, 1000, out);
    expect(out).toHaveLength(1);
    expect(out[0]?.count).toBe(2);
    expect(out[0]?.items).toBe(4);
    expect(out[0]?.tokens).toBe(11 + 4 * 6);
  });
});
