import type { ScoreBatchView } from '../backend/score-batch.js';
import type { ScoreJob } from './score-job.js';

/**
 * One backend call: consecutive active items of one or more jobs that share a prefix (query
 * ids), labels and flags. A lone request's pack is a batch of one segment; a coalesced pack
 * strings several requests' items together. Pooled.
 */
export class Batch implements ScoreBatchView {
  readonly jobs: ScoreJob[] = [];
  /** Segment s covers job s's active items [from[s], to[s]). */
  from: Int32Array = new Int32Array(4);
  to: Int32Array = new Int32Array(4);
  count = 0;
  items = 0;
  /** Prompt tokens the call carries, as the backend counts them. */
  tokens = 0;

  lead(): ScoreJob {
    return this.jobs[0] as ScoreJob;
  }

  /** Adds active item k of job (extending the last segment when it is the same job). */
  addItem(job: ScoreJob, k: number, tokens: number): void {
    const last = this.count - 1;
    if (last >= 0 && this.jobs[last] === job && this.to[last] === k) {
      this.to[last] = k + 1;
    } else {
      if (this.count === this.from.length) {
        const f = new Int32Array(this.count * 2);
        const t = new Int32Array(this.count * 2);
        f.set(this.from);
        t.set(this.to);
        this.from = f;
        this.to = t;
      }
      this.jobs[this.count] = job;
      this.from[this.count] = k;
      this.to[this.count] = k + 1;
      this.count++;
    }
    this.items++;
    this.tokens += tokens;
  }

  reset(): void {
    this.jobs.length = 0;
    this.count = 0;
    this.items = 0;
    this.tokens = 0;
  }
}

const free: Batch[] = [];

export function takeBatch(): Batch {
  return free.pop() ?? new Batch();
}

export function giveBatch(b: Batch): void {
  b.reset();
  if (free.length < 256) free.push(b);
}

/** Backend-counted tokens of active item k of a job: its prompt, or its share of a MIS pack. */
export function itemCost(job: ScoreJob, i: number, mis: boolean): number {
  return mis ? (job.aLen[i] as number) + (job.bLen[i] as number) + 1 : job.promptLength(i);
}

/** The part of a pack every MIS batch pays once: the query and the closing delimiter. */
export function batchBase(job: ScoreJob, mis: boolean): number {
  return mis ? job.qLen + 1 : 0;
}

/**
 * Packs the active items of jobs that share a prefix into batches under a token budget. An item
 * too long for any pack gets one of its own, so the backend answers for it as it would directly.
 */
export function packJobs(jobs: readonly ScoreJob[], mis: boolean, budget: number, out: Batch[]): void {
  if (jobs.length === 0) return;
  const base = batchBase(jobs[0] as ScoreJob, mis);
  let batch: Batch | null = null;
  let used = 0;
  for (const job of jobs) {
    for (let k = 0; k < job.nActive; k++) {
      const cost = itemCost(job, job.active[k] as number, mis);
      if (batch !== null && batch.items > 0 && used + cost > budget) {
        out.push(batch);
        batch = null;
      }
      if (batch === null) {
        batch = takeBatch();
        used = base;
        batch.tokens = base;
      }
      batch.addItem(job, k, cost);
      used += cost;
    }
  }
  if (batch !== null) out.push(batch);
}
