import type { ScoreBatchView } from '../backend/score-batch.js';
import type { ScoreJob } from './score-job.js';

/**
 * One backend call: consecutive active items of one or more jobs that share a prefix (query
 * ids), labels and flags. A lone request's pack is a batch of one segment; a coalesced pack
 * strings several requests' items together. Pooled.
 */
export class Batch implements ScoreBatchView {
  /** Segment s's job in [0, count); slots past count are null (emptied, not truncated: see reset). */
  readonly jobs: (ScoreJob | null)[] = [];
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
    // Emptied slot by slot: `length = 0` drops the array's backing store, reallocated by the next batch.
    for (let s = 0; s < this.count; s++) this.jobs[s] = null;
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

/** packTogether()'s list for a lone job. */
const lone: Array<ScoreJob | null> = [null];

/**
 * A lone job's active items as the one batch packJobs would make of them, or null when they
 * take more than one (packJobs splits them then) or there are none. The lone request's usual
 * case, without the lists packJobs fills.
 */
export function packAlone(job: ScoreJob, mis: boolean, budget: number): Batch | null {
  lone[0] = job;
  try {
    return packTogether(lone, 1, mis, budget);
  } finally {
    lone[0] = null;
  }
}

/**
 * The active items of jobs[0, count) (sharing a prefix, as packJobs' jobs do) as the one batch
 * packJobs would make of them, or null when they take more than one or there are none.
 */
export function packTogether(jobs: ReadonlyArray<ScoreJob | null>, count: number, mis: boolean, budget: number): Batch | null {
  const base = batchBase(jobs[0] as ScoreJob, mis);
  let used = base;
  let items = 0;
  for (let j = 0; j < count; j++) {
    const job = jobs[j] as ScoreJob;
    for (let k = 0; k < job.nActive; k++) used += itemCost(job, job.active[k] as number, mis);
    items += job.nActive;
  }
  // packJobs starts a new batch when an item would take a non-empty one past the budget: the
  // items share one batch exactly when all of them fit, or there is only one.
  if (items === 0 || (used > budget && items > 1)) return null;
  const batch = takeBatch();
  batch.tokens = base;
  for (let j = 0; j < count; j++) {
    const job = jobs[j] as ScoreJob;
    for (let k = 0; k < job.nActive; k++) batch.addItem(job, k, itemCost(job, job.active[k] as number, mis));
  }
  return batch;
}
