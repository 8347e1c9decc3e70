import type { ScoreJob } from './score-job.js';

/**
 * Splits a job's items into consecutive packs that each fit one backend call.
 *  - MIS: a pack is one sequence, query + (item + delimiter)* + delimiter, which must stay under
 *    the backend's input limit; the query is counted once per pack.
 *  - single-item: each prompt is its own sequence; packs only bound the size of one call.
 * An item too long to fit anywhere still gets a pack of its own, so the backend answers for it
 * exactly as it would have directly (with its 400).
 */
export function planPacks(job: ScoreJob, mis: boolean, budget: number): void {
  const n = job.n;
  const starts = job.packStart;
  let packs = 0;
  starts[0] = 0;
  if (n === 0) {
    job.nPacks = 0;
    return;
  }
  const base = mis ? job.qLen + 1 : 0;
  let used = base;
  let inPack = 0;
  for (let i = 0; i < n; i++) {
    const cost = mis ? (job.aLen[i] as number) + (job.bLen[i] as number) + 1 : job.promptLength(i);
    if (inPack > 0 && used + cost > budget) {
      starts[++packs] = i;
      used = base;
      inPack = 0;
    }
    used += cost;
    inPack++;
  }
  starts[++packs] = n;
  job.nPacks = packs;
}
