import type { ScoringMode } from '../backend/server-info.js';
import { hashInts, hashOut } from '../mem/hash.js';
import { resume, resumeLater, resumeWith } from '../mem/continuation.js';
import { type Batch, giveBatch, packAlone, packJobs } from './batch.js';
import type { ScoreJob } from './score-job.js';

/** Sends a list of batches; resolves or rejects per batch. */
/**
 * Where a pack goes: its scoring mode and a key naming the backends that may take it (a group
 * of one identity). Jobs of different lanes never share a pack.
 */
export interface Lane {
  readonly mode: ScoringMode;
  readonly key: string;
}

export type SendBatches<L extends Lane> = (batches: readonly Batch[], lane: L) => Promise<PromiseSettledResult<void>[]>;

/**
 * Sends one batch, which it owns: it gives the batch back (giveBatch) once settled, then
 * continues with `ok` or `fail`, once, never before it returns.
 */
export type SendBatch<L extends Lane> = (batch: Batch, lane: L, ok: () => void, fail: (e: unknown) => void) => void;

interface Group<L extends Lane> {
  jobs: ScoreJob[];
  oks: Array<() => void>;
  fails: Array<(e: unknown) => void>;
  tokens: number;
  lane: L;
  budget: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Cross-request coalescing: requests that share a prefix (same query ids, labels and flags)
 * arriving within a short window go to the backend as one pack — in MIS mode one sequence, the
 * query prefilled once for all of them — and are split back by item on return. A group flushes
 * when its window ends or when it would outgrow the token budget. Window 0 sends at once.
 */
export class Coalescer<L extends Lane = Lane> {
  private readonly groups = new Map<string, Group<L>>();
  /** Batches sent and requests they carried, for the pack-fill metrics. */
  merged = 0;

  constructor(
    private readonly windowMs: number,
    private readonly send: SendBatches<L>,
    /** A job alone (window 0, or alone when its window ended) packed into one batch goes through this instead of `send`. */
    private readonly sendOne?: SendBatch<L>,
  ) {}

  /** The key under which jobs may share a call. */
  static key(job: ScoreJob, lane: Lane): string {
    const mode = lane.mode;
    let labels = '';
    for (let l = 0; l < job.nLabels; l++) labels += `${job.labels[l]},`;
    let prefix = 'whole';
    if (!job.wholePrompts) {
      // Text and /rank jobs carry their query's hash (scanner, identifyRank); an id query is hashed here.
      let h = job.textHash;
      if (job.kind === 'ids') {
        hashInts(job.qRef, job.qOff, job.qOff + job.qLen);
        h = hashOut;
      }
      prefix = `${job.kind}:${h[0]}:${h[1]}:${job.qLen}`;
    }
    return `${lane.key}|${mode}|${job.applySoftmax ? 1 : 0}|${job.itemFirst && mode !== 'mis' ? 1 : 0}|${labels}|${prefix}`;
  }

  /**
   * Dispatches a job's active items, alone or with others; continues with `ok` once its rows
   * are in, or `fail`: once, never before dispatch returns. `tokens` is what the active items
   * cost (batch.ts's itemCost summed), as the caller counted them for admission.
   */
  dispatch(job: ScoreJob, lane: L, budget: number, tokens: number, ok: () => void, fail: (e: unknown) => void): void {
    if (this.windowMs <= 0) return this.sendAlone(job, lane, budget, ok, fail);
    const key = Coalescer.key(job, lane);
    let g = this.groups.get(key);
    // The key holds a hash of the query; the pack carries the lead's query ids for every job, so
    // a job joins only a group whose query ids are its own, compared id by id.
    if (g !== undefined && !sameQuery(g.jobs[0] as ScoreJob, job)) return this.sendAlone(job, lane, budget, ok, fail);
    if (g !== undefined && g.tokens + tokens > budget) {
      this.flush(key, g);
      g = undefined;
    }
    if (g === undefined) {
      g = { jobs: [], oks: [], fails: [], tokens: 0, lane, budget, timer: null };
      const group = g;
      group.timer = setTimeout(() => this.flush(key, group), this.windowMs);
      this.groups.set(key, g);
    }
    g.jobs.push(job);
    g.oks.push(ok);
    g.fails.push(fail);
    g.tokens += tokens;
  }

  /** dispatch() with a promise. */
  dispatchAsync(job: ScoreJob, lane: L, budget: number, tokens: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.dispatch(job, lane, budget, tokens, resolve, reject));
  }

  private flush(key: string, g: Group<L>): void {
    if (this.groups.get(key) === g) this.groups.delete(key);
    if (g.timer) clearTimeout(g.timer);
    // Nobody joined in the window (the common case at low load): the lone job's lighter path.
    if (g.jobs.length === 1) return this.sendAlone(g.jobs[0] as ScoreJob, g.lane, g.budget, g.oks[0] as () => void, g.fails[0] as (e: unknown) => void);
    void this.flushJobs(g.jobs, g.lane, g.budget).then((errors) => {
      for (let j = 0; j < g.jobs.length; j++) {
        const e = errors[j] ?? null;
        // One continuation's throw must not keep the rest of the group from theirs.
        if (e === null) resume(g.oks[j] as () => void);
        else resumeWith(g.fails[j] as (e: unknown) => void, e);
      }
    });
  }

  /**
   * One job alone (window 0, or nobody joined it in its window). Packed into one batch (the
   * usual case), it goes straight to sendOne with the caller's continuations: the list of
   * batches, Promise.allSettled, its results and the per-job error list of flushJobs cost
   * ~1.5 KB of heap per request (allocation profile of the floor bench) for bookkeeping that one
   * batch does not need.
   */
  private sendAlone(job: ScoreJob, lane: L, budget: number, ok: () => void, fail: (e: unknown) => void): void {
    const sendOne = this.sendOne;
    if (sendOne !== undefined) {
      let one: Batch | null;
      try {
        one = packAlone(job, lane.mode === 'mis', budget);
      } catch (e) {
        resumeLater(fail, e);
        return;
      }
      if (one !== null) return sendOne(one, lane, ok, fail);
    }
    this.flushJobs([job], lane, budget).then((errors) => {
      if (errors[0] === null) ok();
      else fail(errors[0]);
    }, fail);
  }

  /** Packs and sends jobs; returns, per job, the first error among the batches holding its items. */
  private flushJobs(jobs: ScoreJob[], lane: L, budget: number): Promise<unknown[]> {
    const batches: Batch[] = [];
    try {
      packJobs(jobs, lane.mode === 'mis', budget, batches);
    } catch (e) {
      for (const b of batches) giveBatch(b);
      return Promise.resolve(new Array<unknown>(jobs.length).fill(e));
    }
    return this.sendPacked(jobs, batches, lane);
  }

  private async sendPacked(jobs: ScoreJob[], batches: Batch[], lane: L): Promise<unknown[]> {
    if (jobs.length > 1) this.merged += jobs.length;
    const errors: unknown[] = new Array(jobs.length).fill(null);
    try {
      const settled = await this.send(batches, lane);
      for (let b = 0; b < batches.length; b++) {
        const s = settled[b] as PromiseSettledResult<void>;
        if (s.status === 'fulfilled') continue;
        const batch = batches[b] as Batch;
        for (let seg = 0; seg < batch.count; seg++) {
          const j = jobs.indexOf(batch.jobs[seg] as ScoreJob);
          if (errors[j] === null) errors[j] = s.reason;
        }
      }
    } catch (e) {
      errors.fill(e);
    } finally {
      for (const b of batches) giveBatch(b);
    }
    return errors;
  }
}

/** Whether two jobs send the same query segment (and both send prompts whole, or neither). */
export function sameQuery(a: ScoreJob, b: ScoreJob): boolean {
  if (a.wholePrompts !== b.wholePrompts) return false;
  if (a.wholePrompts) return true;
  const n = a.qLen;
  if (b.qLen !== n) return false;
  const qa = a.qRef;
  const qb = b.qRef;
  const oa = a.qOff;
  const ob = b.qOff;
  if (qa === qb && oa === ob) return true;
  for (let i = 0; i < n; i++) if (qa[oa + i] !== qb[ob + i]) return false;
  return true;
}
