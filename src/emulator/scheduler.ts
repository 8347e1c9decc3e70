import { type Clock, realClock } from './clock.js';
import { type CostParams, stepCostUs } from './cost-model.js';

/**
 * A continuous-batching prefill scheduler on a virtual timeline. Each step admits queued
 * sequences (chunking long ones) up to the token budget, costs stepCostUs, and finishes at a
 * virtual time; timers only wake waiters, so Node's timer lag never idles the modelled GPU.
 */
interface Seq {
  job: Job;
  tokens: number;
  remaining: number;
  pairs: number;
}

interface Job {
  pending: number;
  done: () => void;
  /** The client went away: queued sequences are dropped, as SGLang aborts the request. */
  aborted: boolean;
}

/** What `run` hands back: a way to abort the request's sequences that have not run yet. */
export interface PrefillTicket {
  abort(): void;
}

export interface SchedulerStats {
  steps: number;
  /** Sequences dropped because their request was aborted before they ran. */
  aborted: number;
  tokens: number;
  busyUs: number;
  queued: number;
  running: number;
}

export class PrefillScheduler {
  private queue: Seq[] = [];
  private head = 0;
  private busy = false;
  /** Virtual time (performance.now() ms) at which the modelled GPU is next free. */
  private freeAt = 0;
  readonly stats: SchedulerStats = { steps: 0, aborted: 0, tokens: 0, busyUs: 0, queued: 0, running: 0 };

  constructor(
    private readonly params: CostParams,
    private readonly clock: Clock = realClock,
  ) {}

  /**
   * Queues one request's sequences; resolves when the last one has been prefilled, or at once
   * when the ticket handed to onTicket is aborted (a client that went away).
   */
  run(seqTokens: ArrayLike<number>, seqPairs: ArrayLike<number>, onTicket?: (t: PrefillTicket) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const ticket = this.submit(seqTokens, seqPairs, resolve);
      onTicket?.(ticket);
    });
  }

  /** Callback form of run(), which calibration drives on a virtual clock without promises. */
  submit(seqTokens: ArrayLike<number>, seqPairs: ArrayLike<number>, done: () => void): PrefillTicket {
    if (seqTokens.length === 0) {
      done();
      return NO_TICKET;
    }
    const job: Job = { pending: seqTokens.length, done, aborted: false };
    for (let i = 0; i < seqTokens.length; i++) {
      const t = seqTokens[i] as number;
      this.queue.push({ job, tokens: t, remaining: t, pairs: seqPairs[i] as number });
    }
    this.stats.queued += seqTokens.length;
    if (!this.busy) this.startStep();
    return {
      abort: () => {
        if (job.aborted || job.pending === 0) return;
        job.aborted = true;
        job.done();
      },
    };
  }

  get queuedSequences(): number {
    return this.queue.length - this.head;
  }

  private startStep(): void {
    if (this.head >= this.queue.length) {
      this.busy = false;
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      // Under sustained load the queue never drains; drop the consumed head now and then.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.busy = true;
    const p = this.params;
    const budget = p.chunkedPrefillSize > 0 ? Math.min(p.maxPrefillTokens, p.chunkedPrefillSize) : p.maxPrefillTokens;
    let tokens = 0;
    let pairs = 0;
    let seqs = 0;
    const finished: Job[] = [];
    while (this.head < this.queue.length && tokens < budget) {
      const s = this.queue[this.head] as Seq;
      if (s.job.aborted) {
        // SGLang drops an aborted request's waiting sequences; the GPU never sees them.
        this.head++;
        this.stats.queued--;
        this.stats.aborted++;
        continue;
      }
      let take = s.remaining;
      if (tokens + take > budget) {
        if (p.chunkedPrefillSize > 0) take = budget - tokens;
        else if (seqs > 0) break; // unchunked prompts that do not fit wait for the next step
      }
      // Attention work of this chunk, proportional to its share of the prompt's pairs.
      pairs += s.tokens > 0 ? (s.pairs * take) / s.tokens : 0;
      tokens += take;
      seqs++;
      s.remaining -= take;
      if (s.remaining === 0) {
        this.head++;
        this.stats.queued--;
        if (--s.job.pending === 0 && !s.job.aborted) finished.push(s.job);
      }
    }
    const costUs = stepCostUs(p, tokens, pairs, seqs);
    this.stats.steps++;
    this.stats.tokens += tokens;
    this.stats.busyUs += costUs;
    this.stats.running = seqs;
    const now = this.clock.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + costUs / 1000;
    this.clock.after(this.freeAt - now, () => {
      for (const j of finished) j.done();
      this.stats.running = 0;
      this.startStep();
    });
  }
}

const NO_TICKET: PrefillTicket = { abort() {} };

/** A single serial resource on a virtual timeline (SGLang's tokenizer manager). */
export class SerialResource {
  private freeAt = 0;

  constructor(private readonly clock: Clock = realClock) {}

  /** Occupies the resource for costUs after whatever is ahead; resolves when done. */
  use(costUs: number): Promise<void> {
    if (costUs <= 0) return Promise.resolve();
    return new Promise((resolve) => this.acquire(costUs, resolve));
  }

  acquire(costUs: number, done: () => void): void {
    const now = this.clock.now();
    this.freeAt = Math.max(now, this.freeAt) + costUs / 1000;
    this.clock.after(this.freeAt - now, done);
  }
}

export function delay(ms: number, clock: Clock = realClock): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => clock.after(ms, resolve));
}
