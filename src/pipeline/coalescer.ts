import type { ScoringMode } from '../backend/server-info.js';
import { finalize, hashInts, hashOut, hashString, mixInt } from '../mem/hash.js';
import { noop, resume, resumeLater, resumeWith } from '../mem/continuation.js';
import { type Batch, giveBatch, packAlone, packJobs, packTogether } from './batch.js';
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
  /** The next group in its bucket of the key table. */
  chain: Group<L> | null;
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
  /**
   * Open groups by key: buckets chained through the groups, grown (never shrunk) to keep about one
   * group per bucket. A Map grew and shrank its table as groups opened and closed, a new table each
   * time (~90 B of heap per request in the allocation profile).
   */
  private buckets: Array<Group<L> | null> = new Array<Group<L> | null>(64).fill(null);
  private nOpen = 0;
  private readonly free: Group<L>[] = [];
  private head: Group<L> | null = null;
  private tail: Group<L> | null = null;
  /** The one timer, made once and re-armed in place (refresh()); see watch(). */
  private timer: NodeJS.Timeout | null = null;
  /** How long the timer waits: a quarter window, at least Node's 1 ms. */
  private readonly tickMs: number;
  /** Batches sent and requests they carried, for the pack-fill metrics. */
  merged = 0;

  constructor(
    private readonly windowMs: number,
    private readonly send: SendBatches<L>,
    /** A job alone (window 0, or alone when its window ended) packed into one batch goes through this instead of `send`. */
    private readonly sendOne?: SendBatch<L>,
  ) {
    this.tickMs = Math.max(1, Math.floor(windowMs / 4));
  }

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
    const now = performance.now();
    // Under load, arrivals close the groups whose window ended; the timer covers the lulls.
    if (this.head !== null && this.head.due <= now + this.tickMs / 2) this.flushDue(now);
    const key = Coalescer.key(job, lane);
    let g = this.find(key);
    // The key is a hash; the pack carries the lead's query ids, lane and flags for every job, so
    // a job joins only a group whose lead matches it in each (the query compared id by id).
    if (g !== null && !joins(g.jobs[0] as ScoreJob, g.lane as L, job, lane)) return this.sendAlone(job, lane, budget, ok, fail);
    if (g !== null && g.tokens + tokens > budget) {
      this.flush(g);
      g = null;
    }
    if (g === null) g = this.open(key, lane, budget, now);
    // By index, each list on its own: slots fill from 0 up (at most one past a list's end, which
    // appends), whatever length a list has (a Pack hands the group back lists of another length).
    const n = g.n++;
    g.jobs[n] = job;
    g.oks[n] = ok;
    g.fails[n] = fail;
    g.tokens += tokens;
    this.watch();
  }

  /** dispatch() with a promise. */
  dispatchAsync(job: ScoreJob, lane: L, budget: number, tokens: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.dispatch(job, lane, budget, tokens, resolve, reject));
  }

  /** A group for `key` from the pool, its window started now: last on the list (the list stays in order of window end). */
  private open(key: number, lane: L, budget: number, now: number): Group<L> {
    const g = this.free.pop() ?? { key: 0, jobs: [], oks: [], fails: [], n: 0, tokens: 0, lane: null, budget: 0, due: 0, prev: null, next: null, chain: null };
    g.key = key;
    g.lane = lane;
    g.budget = budget;
    g.tokens = 0;
    g.due = now + this.windowMs;
    g.prev = this.tail;
    g.next = null;
    if (this.tail !== null) this.tail.next = g;
    else this.head = g;
    this.tail = g;
    this.index(g);
    return g;
  }

  /** The open group under `key` (there is at most one: a job that does not join it goes alone), or null. */
  private find(key: number): Group<L> | null {
    let g = this.buckets[key & (this.buckets.length - 1)] ?? null;
    while (g !== null && g.key !== key) g = g.chain;
    return g;
  }

  private index(g: Group<L>): void {
    if (++this.nOpen > this.buckets.length) {
      const old = this.buckets;
      this.buckets = new Array<Group<L> | null>(old.length * 2).fill(null);
      for (let b of old) {
        while (b !== null && b !== undefined) {
          const next: Group<L> | null = b.chain;
          this.link(b);
          b = next;
        }
      }
    }
    this.link(g);
  }

  private link(g: Group<L>): void {
    const at = g.key & (this.buckets.length - 1);
    g.chain = this.buckets[at] ?? null;
    this.buckets[at] = g;
  }

  private unindex(g: Group<L>): void {
    const at = g.key & (this.buckets.length - 1);
    let p = this.buckets[at] ?? null;
    if (p === g) this.buckets[at] = g.chain;
    else {
      while (p !== null && p.chain !== g) p = p.chain;
      if (p === null) return;
      p.chain = g.chain;
    }
    g.chain = null;
    this.nOpen--;
  }

  /**
   * One timer for all open groups, made once: each arrival pushes it back (refresh() of a pending
   * Timeout allocates nothing), so it fires only after a lull of tickMs with groups open, and then
   * re-arms itself while any remain. Why not a timer per window end: re-arming for each next end
   * (a new duration each time) made a new Timeout and a new Node timer list per request, and each
   * firing of a Node timer allocates ~0.3 KB of its own (Node 20, a scratch measure of
   * setInterval); the groups' ends are checked at arrivals instead.
   */
  private watch(): void {
    if (this.timer === null) this.timer = setTimeout(this.expire, this.tickMs);
    else this.timer.refresh();
  }

  /** The timer fired: what is due goes, and it waits again while groups are open. */
  private readonly expire = (): void => {
    if (this.head === null) return;
    this.flushDue(performance.now());
    if (this.head !== null) this.timer?.refresh();
  };

  /**
   * Flushes, oldest first, every group whose window ends within half a tick of `now` (Node's
   * timer clock, the event loop's, lags performance.now(); a group goes at the check nearest its
   * end): a request arriving within a later group's window still joins it.
   */
  private flushDue(now: number): void {
    const until = now + this.tickMs / 2;
    let g = this.head;
    while (g !== null && g.due <= until) {
      this.flush(g);
      g = this.head;
    }
  }

  /** Closes a group (window ended, or full) and sends its jobs; the group goes back to the pool at once. */
  private flush(g: Group<L>): void {
    this.unindex(g);
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
    // Several requests in one batch (the usual case: a group flushes before it outgrows the
    // budget): the batch goes through sendOne, its continuations a pooled Pack's, which takes the
    // group's lists of continuations in exchange for its own emptied ones.
    const sendOne = this.sendOne;
    if (sendOne !== undefined) {
      let one: Batch | null;
      try {
        one = packTogether(g.jobs, n, (lane as L).mode === 'mis', budget);
      } catch {
        one = null; // packJobs below meets the same error and fails every job with it
      }
      if (one !== null) {
        const p = packs.pop() ?? new Pack();
        p.take(g);
        this.giveGroup(g);
        this.merged += n;
        return sendOne(one, lane as L, p.ok, p.fail);
      }
    }
    // Several batches: its own lists (a few objects per pack, not per request).
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

/**
 * The continuations of a coalesced pack sent as one batch: every job's, once the batch settles.
 * Pooled with its two callbacks, made once per Pack (a closure and a promise chain per pack
 * otherwise: Promise.allSettled, its result list, the per-job error list, the lists' copies).
 */
class Pack {
  private oks: Array<() => void> = [];
  private fails: Array<(e: unknown) => void> = [];
  private n = 0;

  /** Takes a group's continuations: their lists change places with this pack's emptied ones. */
  take<L extends Lane>(g: Group<L>): void {
    const oks = this.oks;
    const fails = this.fails;
    this.oks = g.oks;
    this.fails = g.fails;
    g.oks = oks;
    g.fails = fails;
    this.n = g.n;
  }

  readonly ok = (): void => {
    const { oks, n } = this;
    // One continuation's throw must not keep the rest of the pack from theirs.
    for (let j = 0; j < n; j++) resume(oks[j] as () => void);
    this.give();
  };

  readonly fail = (e: unknown): void => {
    const { fails, n } = this;
    for (let j = 0; j < n; j++) resumeWith(fails[j] as (e: unknown) => void, e);
    this.give();
  };

  /** Back to the pool once the continuations ran, its lists emptied slot by slot. */
  private give(): void {
    for (let j = 0; j < this.n; j++) {
      this.oks[j] = noop;
      this.fails[j] = noop;
    }
    this.n = 0;
    if (packs.length < 256) packs.push(this);
  }
}

const packs: Pack[] = [];

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
