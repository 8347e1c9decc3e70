import type { ScoringMode } from '../backend/server-info.js';
import { finalize, hashInts, hashOut, hashString, mixInt } from '../mem/hash.js';
import { noop, resume, resumeLater, resumeWith } from '../mem/continuation.js';
import { type Batch, giveBatch, packAlone, packJobs } from './batch.js';
import type { ScoreJob } from './score-job.js';

/**
 * Where a pack goes: its scoring mode and a key naming the backends that may take it (a group
 * of one identity). Jobs of different lanes never share a pack.
 */
export interface Lane {
  readonly mode: ScoringMode;
  readonly key: string;
}

/** Sends a list of batches; resolves or rejects per batch. */
export type SendBatches<L extends Lane> = (batches: readonly Batch[], lane: L) => Promise<PromiseSettledResult<void>[]>;

/**
 * Sends one batch, which it owns: it gives the batch back (giveBatch) once settled, then
 * continues with `ok` or `fail`, once, never before it returns.
 */
export type SendBatch<L extends Lane> = (batch: Batch, lane: L, ok: () => void, fail: (e: unknown) => void) => void;

/**
 * Jobs waiting out a window together. Pooled: its lists keep their length and are cleared slot
 * by slot (a truncated array gives up its backing store and regrows it); open groups sit in
 * order of their deadline on one list, behind one timer.
 */
interface Group<L extends Lane> {
  key: number;
  jobs: Array<ScoreJob | null>;
  oks: Array<() => void>;
  fails: Array<(e: unknown) => void>;
  n: number;
  tokens: number;
  lane: L | null;
  budget: number;
  /** performance.now() at which its window ends. */
  due: number;
  prev: Group<L> | null;
  next: Group<L> | null;
}

/**
 * Cross-request coalescing: requests that share a prefix (same query ids, labels and flags)
 * arriving within a short window go to the backend as one pack — in MIS mode one sequence, the
 * query prefilled once for all of them — and are split back by item on return. A group flushes
 * when its window ends or when it would outgrow the token budget. Window 0 sends at once.
 *
 * Per request it allocates nothing of its own: groups are pooled and found under a number, and
 * one timer serves every open group (a key string, a group with three lists, a closure and a
 * Timeout per request were ~1.3 KB of heap per request in the allocation profile).
 */
export class Coalescer<L extends Lane = Lane> {
  private readonly groups = new Map<number, Group<L>>();
  private readonly free: Group<L>[] = [];
  private head: Group<L> | null = null;
  private tail: Group<L> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The duration the timer was made with: refresh() re-arms it for that long. */
  private timerMs = 0;
  /** Batches sent and requests they carried, for the pack-fill metrics. */
  merged = 0;

  constructor(
    private readonly windowMs: number,
    private readonly send: SendBatches<L>,
    /** A job alone (window 0, or alone when its window ended) packed into one batch goes through this instead of `send`. */
    private readonly sendOne?: SendBatch<L>,
  ) {}

  /**
   * The number under which jobs may share a call: a hash of the lane, the flags, the labels and
   * the query (its text's hash for text and /rank jobs, its ids' for an id query), small enough
   * to be a Map key without allocation. Equal keys are a hint, not a promise: joins() decides.
   */
  static key(job: ScoreJob, lane: Lane): number {
    const mode = lane.mode;
    hashString(lane.key);
    let h = mixInt(hashOut[0] as number, mode === 'mis' ? 1 : 2);
    h = mixInt(h, (job.applySoftmax ? 1 : 0) | (job.itemFirst && mode !== 'mis' ? 2 : 0) | (job.wholePrompts ? 4 : 0));
    for (let l = 0; l < job.nLabels; l++) h = mixInt(h, job.labels[l] as number);
    if (!job.wholePrompts) {
      let a = job.textHash[0] as number;
      let b = job.textHash[1] as number;
      if (job.kind === 'ids') {
        hashInts(job.qRef, job.qOff, job.qOff + job.qLen);
        a = hashOut[0] as number;
        b = hashOut[1] as number;
      }
      h = mixInt(mixInt(mixInt(mixInt(h, job.kind === 'ids' ? 1 : job.kind === 'text' ? 2 : 3), a), b), job.qLen);
    }
    return finalize(h) & 0x3fffffff;
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
    // The key is a hash; the pack carries the lead's query ids, lane and flags for every job, so
    // a job joins only a group whose lead matches it in each (the query compared id by id).
    if (g !== undefined && !joins(g.jobs[0] as ScoreJob, g.lane as L, job, lane)) return this.sendAlone(job, lane, budget, ok, fail);
    if (g !== undefined && g.tokens + tokens > budget) {
      this.flush(g);
      g = undefined;
    }
    if (g === undefined) g = this.open(key, lane, budget);
    const n = g.n++;
    if (n < g.jobs.length) {
      g.jobs[n] = job;
      g.oks[n] = ok;
      g.fails[n] = fail;
    } else {
      g.jobs.push(job);
      g.oks.push(ok);
      g.fails.push(fail);
    }
    g.tokens += tokens;
  }

  /** dispatch() with a promise. */
  dispatchAsync(job: ScoreJob, lane: L, budget: number, tokens: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.dispatch(job, lane, budget, tokens, resolve, reject));
  }

  /** A group for `key` from the pool, its window started: last on the list, the timer armed when it was idle. */
  private open(key: number, lane: L, budget: number): Group<L> {
    const g = this.free.pop() ?? { key: 0, jobs: [], oks: [], fails: [], n: 0, tokens: 0, lane: null, budget: 0, due: 0, prev: null, next: null };
    g.key = key;
    g.lane = lane;
    g.budget = budget;
    g.tokens = 0;
    g.due = performance.now() + this.windowMs;
    g.prev = this.tail;
    g.next = null;
    if (this.tail !== null) this.tail.next = g;
    else {
      this.head = g;
      this.arm(this.windowMs);
    }
    this.tail = g;
    this.groups.set(key, g);
    return g;
  }

  /** One timer for all open groups; re-armed in place (no Timeout per request) when it runs for a whole window. */
  private arm(ms: number): void {
    if (this.timer !== null && ms === this.timerMs) this.timer.refresh();
    else {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(this.expire, ms);
      this.timerMs = ms;
    }
  }

  /**
   * The timer fired: flushes every group whose window has ended, and re-arms for the next. The
   * first group, the one the timer ran for, counts as ended within half a window of its end
   * (Node's timer clock is the event loop's, which lags performance.now()); the others only at
   * their end, so that a request arriving within a later group's window still joins it.
   */
  private readonly expire = (): void => {
    const now = performance.now();
    let g = this.head;
    if (g !== null && g.due <= now + this.windowMs / 2) {
      this.flush(g);
      g = this.head;
    }
    while (g !== null && g.due <= now) {
      this.flush(g);
      g = this.head;
    }
    if (g !== null) this.arm(g.due - now);
  };

  /** Closes a group (window ended, or full) and sends its jobs; the group goes back to the pool at once. */
  private flush(g: Group<L>): void {
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
    if (g.prev !== null) g.prev.next = g.next;
    else this.head = g.next;
    if (g.next !== null) g.next.prev = g.prev;
    else this.tail = g.prev;
    const { n, lane, budget } = g;
    // Nobody joined in the window (the common case at low load): the lone job's lighter path.
    if (n === 1) {
      const job = g.jobs[0] as ScoreJob;
      const ok = g.oks[0] as () => void;
      const fail = g.fails[0] as (e: unknown) => void;
      this.giveGroup(g);
      return this.sendAlone(job, lane as L, budget, ok, fail);
    }
    // Several requests share this flush: its own lists (a few objects per pack, not per request).
    const jobs = g.jobs.slice(0, n) as ScoreJob[];
    const oks = g.oks.slice(0, n);
    const fails = g.fails.slice(0, n);
    this.giveGroup(g);
    void this.flushJobs(jobs, lane as L, budget).then((errors) => {
      for (let j = 0; j < n; j++) {
        const e = errors[j] ?? null;
        // One continuation's throw must not keep the rest of the group from theirs.
        if (e === null) resume(oks[j] as () => void);
        else resumeWith(fails[j] as (e: unknown) => void, e);
      }
    });
  }

  private giveGroup(g: Group<L>): void {
    for (let j = 0; j < g.n; j++) {
      g.jobs[j] = null;
      g.oks[j] = noop;
      g.fails[j] = noop;
    }
    g.n = 0;
    g.lane = null;
    g.prev = g.next = null;
    if (this.free.length < 256) this.free.push(g);
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

/** Whether `job` on `lane` may share the pack of `lead` on `leadLane`: what key() hashes, compared in full. */
function joins(lead: ScoreJob, leadLane: Lane, job: ScoreJob, lane: Lane): boolean {
  if (leadLane.key !== lane.key || leadLane.mode !== lane.mode) return false;
  if (lead.applySoftmax !== job.applySoftmax || lead.nLabels !== job.nLabels) return false;
  if (lane.mode !== 'mis' && lead.itemFirst !== job.itemFirst) return false;
  for (let l = 0; l < job.nLabels; l++) if (lead.labels[l] !== job.labels[l]) return false;
  if (!lead.wholePrompts && !job.wholePrompts) {
    if (lead.kind !== job.kind) return false;
    if (job.kind !== 'ids' && (lead.textHash[0] !== job.textHash[0] || lead.textHash[1] !== job.textHash[1])) return false;
  }
  return sameQuery(lead, job);
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
