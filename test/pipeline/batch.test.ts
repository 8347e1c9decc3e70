import { describe, expect, it } from 'vitest';
import { type Batch, giveBatch, packAlone, packJobs, packTogether, takeBatch } from '../../src/pipeline/batch.js';
import { mulberry32 } from '../support/random-texts.js';
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

  it('packs a lone job as packJobs does: one batch when its items fit together, else null (500 random jobs)', () => {
    const rnd = mulberry32(7);
    for (let run = 0; run < 500; run++) {
      const lens = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => 1 + Math.floor(rnd() * 60));
      const j = job(1 + Math.floor(rnd() * 20), lens);
      // Some items already answered (cache hits): only the active ones are packed.
      let n = 0;
      for (let i = 0; i < lens.length; i++) if (rnd() < 0.8) j.active[n++] = i;
      j.nActive = n;
      const mis = rnd() < 0.5;
      const budget = 10 + Math.floor(rnd() * 400);
      const out: Batch[] = [];
      packJobs([j], mis, budget, out);
      const one = packAlone(j, mis, budget);
      if (out.length === 1) {
        expect(one).not.toBeNull();
        expect(shape([one as Batch])).toEqual(shape(out));
        expect([one?.items, one?.tokens]).toEqual([out[0]?.items, out[0]?.tokens]);
      } else {
        expect(one).toBeNull();
      }
      for (const b of out) giveBatch(b);
      if (one !== null) giveBatch(one);
    }
  });

  it('packs several jobs as packJobs does: one batch when all their items fit together, else null (500 random packs)', () => {
    const rnd = mulberry32(8);
    for (let run = 0; run < 500; run++) {
      const qLen = 1 + Math.floor(rnd() * 20);
      const jobs = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => {
        const lens = Array.from({ length: Math.floor(rnd() * 6) }, () => 1 + Math.floor(rnd() * 40));
        const j = job(qLen, lens);
        let n = 0;
        for (let i = 0; i < lens.length; i++) if (rnd() < 0.8) j.active[n++] = i;
        j.nActive = n;
        return j;
      });
      const mis = rnd() < 0.5;
      const budget = 10 + Math.floor(rnd() * 300);
      const out: Batch[] = [];
      packJobs(jobs, mis, budget, out);
      // Slots past the count are not looked at (a group's pooled list keeps old slots).
      const one = packTogether([...jobs, job(qLen, [99])], jobs.length, mis, budget);
      if (out.length === 1) {
        expect(one).not.toBeNull();
        expect(shape([one as Batch])).toEqual(shape(out));
        expect([one?.jobs.slice(0, one.count), one?.items, one?.tokens]).toEqual([out[0]?.jobs.slice(0, out[0].count), out[0]?.items, out[0]?.tokens]);
      } else {
        expect(one).toBeNull();
      }
      for (const b of out) giveBatch(b);
      if (one !== null) giveBatch(one);
    }
  });

  it('empties a batch going back to its pool: no job stays referenced', () => {
    const b = takeBatch();
    b.addItem(job(5, [3, 3]), 0, 8);
    b.addItem(job(5, [3]), 0, 8);
    const jobs = b.jobs;
    giveBatch(b);
    expect(b.count).toBe(0);
    expect(jobs.every((j) => j === null)).toBe(true);
  });
});
