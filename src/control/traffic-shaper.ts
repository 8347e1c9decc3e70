import { type Cancellable, type CancelScope, CancelledError } from '../mem/cancel-scope.js';
import { noop } from '../mem/continuation.js';
import { type BudgetLimiter, StaticBudget } from './budget.js';
import { type ControlClock, type TimerHandle, systemClock } from './clock.js';
import { Deque } from './deque.js';
import type { Priority } from './priority.js';
import { type RefusalReason, ShaperRefused } from './shaper-errors.js';

export interface TrafficShaperOptions {
  /** A fixed token budget, or a limiter (StaticBudget, AimdBudget). Default 32768 tokens. */
  budget?: number | BudgetLimiter;
  /** Queued requests across both classes (default 1024). */
  maxQueuedRequests?: number;
  /** Queued tokens across both classes (default unbounded: deadlines bound the wait). */
  maxQueuedTokens?: number;
  /**
   * Longest a request may wait for admission, whatever its deadline (default unbounded). Work
   * whose estimated wait is longer is refused at arrival; queued work is refused when it
   * reaches the bound. It keeps accepted work near the SLO under overload (goodput).
   */
  maxQueueMs?: number;
  /** EWMA weight of each backend latency sample in the wait/service estimate (default 0.2). */
  latencySmoothing?: number;
  clock?: ControlClock;
}

/** The part of a request's CancelScope the shaper uses: a queued wait ends when it is cancelled. */
export type CancelHook = Pick<CancelScope, 'cancelled' | 'add' | 'delete'>;

/** What an admitted request holds until it calls release(). */
export interface AdmissionTicket {
  readonly tokens: number;
  readonly priority: Priority;
  readonly deadlineAt: number;
  readonly arrivedAt: number;
  readonly admittedAt: number;
  /** Time spent queued in the shaper (the x-scorecar-queue-ms header). */
  readonly queuedMs: number;
}

export interface ShaperStats {
  /** Per-backend budget x backends. */
  budgetTokens: number;
  /** Backends the budget is multiplied by. */
  backends: number;
  inFlightTokens: number;
  inFlightRequests: number;
  queuedRequests: Record<Priority, number>;
  queuedTokens: Record<Priority, number>;
  admitted: number;
  refused: Record<RefusalReason, number>;
  cancelled: number;
  /** Over every admission, immediate ones included (they count as 0 ms). */
  queueWait: { count: number; sumMs: number; maxMs: number };
  /** Smoothed backend latency (NaN before the first release with a latency). */
  backendLatencyMs: number;
  /** Estimated time for everything in flight and queued to finish. */
  drainMs: number;
}

const enum State {
  Queued,
  Admitted,
  Released,
  Gone, // refused or cancelled: settled with an error
}

/** One admit() call: the queue entry, the Cancellable for its scope, and the ticket it becomes. */
class Waiter implements AdmissionTicket, Cancellable {
  state = State.Queued;
  admittedAt = NaN;
  timer: TimerHandle | null = null;
  /** Past this time an admission could not finish by the deadline (deadline - expected service). */
  latestStartAt = Infinity;
  /** latestStartAt is the queue-time bound rather than the deadline. */
  queueBound = false;

  /** Made by tryAdmit, so never queued: back to the shaper's spares at release. */
  spare = false;

  constructor(
    readonly shaper: TrafficShaper,
    public tokens: number,
    public priority: Priority,
    public deadlineAt: number,
    public arrivedAt: number,
    readonly resolve: (t: AdmissionTicket) => void,
    readonly reject: (e: Error) => void,
    public scope: CancelHook | undefined,
  ) {}

  /** A spare made ready for another tryAdmit (it never queued: no timer, no scope entry). */
  reuse(tokens: number, priority: Priority, deadlineAt: number, arrivedAt: number): this {
    this.state = State.Queued;
    this.admittedAt = NaN;
    this.tokens = tokens;
    this.priority = priority;
    this.deadlineAt = deadlineAt;
    this.arrivedAt = arrivedAt;
    return this;
  }

  get queuedMs(): number {
    return this.admittedAt - this.arrivedAt;
  }

  cancel(): void {
    this.shaper.cancelQueued(this);
  }
}

function onWaiterDue(w: Waiter): void {
  w.timer = null;
  w.shaper.expireQueued(w);
}

/** Per-class queue: a deque of waiters plus live counts (entries settled while queued stay as tombstones). */
class ClassQueue {
  readonly q = new Deque<Waiter>();
  live = 0;
  liveTokens = 0;
  dead = 0;

  front(): Waiter | undefined {
    for (;;) {
      const w = this.q.peekFront();
      if (w === undefined || w.state === State.Queued) return w;
      this.q.popFront();
      this.dead--;
    }
  }

  /** The newest live waiter, dropping tombstones from the back. */
  back(): Waiter | undefined {
    for (;;) {
      const w = this.q.peekBack();
      if (w === undefined || w.state === State.Queued) return w;
      this.q.popBack();
      this.dead--;
    }
  }

  /** Removes the live front waiter (the one front() just returned). */
  shift(): void {
    const w = this.q.popFront() as Waiter;
    this.live--;
    this.liveTokens -= w.tokens;
  }

  /** Accounts a waiter that left while queued; compacts when tombstones pile up behind a blocked head. */
  left(w: Waiter): void {
    this.live--;
    this.liveTokens -= w.tokens;
    this.dead++;
    if (this.dead > 1024 && this.dead > this.live) {
      this.q.retain((x) => x.state === State.Queued);
      this.dead = 0;
    }
  }
}

/**
 * Admits scoring work to one backend under an in-flight token budget and each request's deadline.
 *
 * Bursts wait in a bounded queue, online strictly before nearline, FIFO within a class (a head
 * that does not fit blocks the ones behind it, so large requests are not starved). Work that
 * cannot meet its deadline is refused before it costs the GPU anything: at arrival, from the
 * estimated wait plus service time, and while queued, by a timer at the last moment from which
 * it could still finish. Every admit() promise settles exactly once: admitted, refused
 * (ShaperRefused), or cancelled through its scope (CancelledError).
 */
export class TrafficShaper {
  private readonly limiter: BudgetLimiter;
  private readonly clock: ControlClock;
  private readonly maxQueuedRequests: number;
  private readonly maxQueuedTokens: number;
  private readonly maxQueueMs: number;
  private readonly smoothing: number;
  private readonly online = new ClassQueue();
  private readonly nearline = new ClassQueue();
  /** Released tryAdmit tickets, for the next ones. */
  private readonly spares: Waiter[] = [];
  private inFlight = 0;
  private inFlightCount = 0;
  private latencyMs = NaN;
  private closed = false;
  private backends = 1;

  private nAdmitted = 0;
  private nCancelled = 0;
  private readonly nRefused: Record<RefusalReason, number> = { deadline: 0, 'queue-full': 0, 'queue-time': 0, closed: 0 };
  private waitSumMs = 0;
  private waitMaxMs = 0;

  constructor(o: TrafficShaperOptions = {}) {
    const b = o.budget ?? 32768;
    this.limiter = typeof b === 'number' ? new StaticBudget(b) : b;
    this.clock = o.clock ?? systemClock;
    this.maxQueuedRequests = o.maxQueuedRequests ?? 1024;
    this.maxQueuedTokens = o.maxQueuedTokens ?? Infinity;
    this.maxQueueMs = o.maxQueueMs ?? Infinity;
    if (!(this.maxQueueMs > 0)) throw new RangeError('maxQueueMs must be > 0');
    this.smoothing = o.latencySmoothing ?? 0.2;
    if (!(this.maxQueuedRequests >= 0)) throw new RangeError('maxQueuedRequests must be >= 0');
    if (!(this.maxQueuedTokens >= 0)) throw new RangeError('maxQueuedTokens must be >= 0');
    if (!(this.smoothing > 0 && this.smoothing <= 1)) throw new RangeError('latencySmoothing must be in (0, 1]');
  }

  /**
   * Resolves with a ticket once `tokens` fit under the budget (alone, if larger than the whole
   * budget), or rejects with ShaperRefused / CancelledError. The caller must release() every
   * ticket it receives, whether the backend call succeeded or not.
   */
  admit(tokens: number, deadlineAt: number, priority: Priority, scope?: CancelHook): Promise<AdmissionTicket> {
    if (!(tokens >= 0)) throw new RangeError(`tokens must be >= 0, got ${tokens}`);
    return new Promise<AdmissionTicket>((resolve, reject) => {
      const now = this.clock.now();
      const w = new Waiter(this, tokens, priority, deadlineAt, now, resolve, reject, scope);
      this.arrive(w, now);
    });
  }

  /**
   * admit() without the promise, for the common case: a ticket when the work would be admitted
   * at once (nothing queued ahead, it fits, its deadline can be met), else null, and the caller
   * goes through admit(), which decides (and counts a refusal) as usual. Nothing is counted
   * here unless the ticket is given.
   */
  tryAdmit(tokens: number, deadlineAt: number, priority: Priority, scope?: CancelHook): AdmissionTicket | null {
    if (!(tokens >= 0) || this.closed || scope?.cancelled) return null;
    if (!this.immediate(tokens, priority)) return null;
    const now = this.clock.now();
    if (now >= deadlineAt || now + this.serviceMs() > deadlineAt) return null;
    // Pooled: a ticket object per request was ~130 B of heap (allocation profile of the gc-free load).
    const w = this.spares.pop()?.reuse(tokens, priority, deadlineAt, now) ?? new Waiter(this, tokens, priority, deadlineAt, now, noop, noop, undefined);
    w.spare = true;
    this.admitNow(w, now);
    return w;
  }

  /**
   * The cheap admission before any tokenizing, from an estimate of the tokens: throws the
   * ShaperRefused that admit() would give at arrival (closed, deadline, queue full), so work
   * that cannot be served is refused before the tokenizer spends anything on it. Counted like
   * admit()'s refusals. Passing it admits nothing; admit() decides again with the exact count.
   */
  precheck(tokens: number, deadlineAt: number, priority: Priority): void {
    const now = this.clock.now();
    let reason: RefusalReason | null = null;
    if (this.closed) reason = 'closed';
    else {
      const ahead = priority === 'online' ? this.online.liveTokens : this.online.liveTokens + this.nearline.liveTokens;
      const queueAhead = this.queuedAhead(priority);
      const immediate = this.immediate(tokens, priority);
      const wait = immediate ? 0 : this.waitForMs(this.inFlight + ahead + tokens, this.capacity);
      if (now >= deadlineAt || now + wait + this.serviceMs() > deadlineAt) reason = 'deadline';
      else if (wait > this.maxQueueMs) reason = 'queue-time';
      else if (!immediate && queueAhead + 1 > this.maxQueuedRequests) reason = 'queue-full';
    }
    if (reason === null) return;
    this.nRefused[reason]++;
    throw new ShaperRefused(reason, this.retryAfterS(), priority);
  }

  /**
   * Returns a ticket's tokens. latencyMs (the backend call's) feeds the estimates; omit it for
   * failed calls. Once per ticket: a tryAdmit ticket is reused for a later request after it.
   */
  release(ticket: AdmissionTicket, latencyMs?: number): void {
    const w = ticket as Waiter;
    if (w.shaper !== this || w.state !== State.Admitted) return; // not admitted here, or released (and not yet reused)
    w.state = State.Released;
    const before = this.inFlight;
    this.inFlight -= w.tokens;
    this.inFlightCount--;
    if (latencyMs !== undefined && latencyMs >= 0) {
      this.latencyMs = Number.isNaN(this.latencyMs)
        ? latencyMs
        : this.latencyMs + this.smoothing * (latencyMs - this.latencyMs);
      // The limiter's budget is one backend's: it sees one backend's share of the load.
      this.limiter.onSample(latencyMs, w.tokens, before / this.backends, this.clock.now());
    }
    // A holder drops its ticket at release (a second release finds it Released, or reused and
    // Admitted for another request: the pipeline never releases twice).
    if (w.spare && this.spares.length < 256) this.spares.push(w);
    this.pump();
  }

  /** Refuses everything queued ('closed') and every later admit(). */
  close(): void {
    this.closed = true;
    for (const cq of [this.online, this.nearline]) {
      for (let w = cq.front(); w !== undefined; w = cq.front()) this.refuseQueued(w, 'closed');
    }
  }

  /** The whole in-flight budget: one backend's budget times the backends serving. */
  get budgetTokens(): number {
    return this.capacity;
  }

  private get capacity(): number {
    return this.limiter.budget * this.backends;
  }

  /**
   * The budget is per backend (the adaptive one learns from per-call latency, which is a
   * backend's), so admitted capacity follows the fleet: n backends that can take calls admit n
   * budgets. Never below one: with none up, calls fail fast at dispatch, not in this queue.
   */
  setBackends(n: number): void {
    const next = Math.max(1, Math.floor(n));
    if (next === this.backends) return;
    this.backends = next;
    this.pump();
  }

  get inFlightTokens(): number {
    return this.inFlight;
  }

  queuedRequests(priority: Priority): number {
    return this.queueOf(priority).live;
  }

  queuedTokens(priority: Priority): number {
    return this.queueOf(priority).liveTokens;
  }

  /** Estimated ms for the work in flight and queued to finish at the measured rate. */
  drainMs(): number {
    return this.waitForMs(this.inFlight + this.online.liveTokens + this.nearline.liveTokens, 0);
  }

  stats(): ShaperStats {
    return {
      budgetTokens: this.capacity,
      backends: this.backends,
      inFlightTokens: this.inFlight,
      inFlightRequests: this.inFlightCount,
      queuedRequests: { online: this.online.live, nearline: this.nearline.live },
      queuedTokens: { online: this.online.liveTokens, nearline: this.nearline.liveTokens },
      admitted: this.nAdmitted,
      refused: { ...this.nRefused },
      cancelled: this.nCancelled,
      queueWait: { count: this.nAdmitted, sumMs: this.waitSumMs, maxMs: this.waitMaxMs },
      backendLatencyMs: this.latencyMs,
      drainMs: this.drainMs(),
    };
  }

  /** @internal the queued waiter's scope was cancelled. */
  cancelQueued(w: Waiter): void {
    if (w.state !== State.Queued) return;
    this.leaveQueue(w);
    this.nCancelled++;
    w.reject(new CancelledError());
    this.pump();
  }

  /** @internal the waiter's timer fired: it can no longer finish before its deadline. */
  expireQueued(w: Waiter): void {
    if (w.state !== State.Queued) return;
    const early = w.latestStartAt - this.clock.now();
    if (early > 0) {
      // Timers may fire early (Node caps delays at about 24.8 days): wait the rest.
      w.timer = this.clock.setTimer(early, onWaiterDue, w);
      return;
    }
    this.refuseQueued(w, w.queueBound ? 'queue-time' : 'deadline');
    // A blocked head leaving may let smaller or lower-class work through.
    this.pump();
  }

  private arrive(w: Waiter, now: number): void {
    if (this.closed) return this.refuseNew(w, 'closed');
    if (w.scope?.cancelled) {
      this.nCancelled++;
      w.state = State.Gone;
      return w.reject(new CancelledError());
    }
    const ahead = w.priority === 'online' ? this.online.liveTokens : this.online.liveTokens + this.nearline.liveTokens;
    const service = this.serviceMs();
    const immediate = this.immediate(w.tokens, w.priority);
    const wait = immediate ? 0 : this.waitForMs(this.inFlight + ahead + w.tokens, this.capacity);
    if (now + wait + service > w.deadlineAt || now >= w.deadlineAt) return this.refuseNew(w, 'deadline');
    if (wait > this.maxQueueMs) return this.refuseNew(w, 'queue-time');
    if (immediate) return this.admitNow(w, now);
    if (!this.makeRoom(w)) return this.refuseNew(w, 'queue-full');

    const cq = this.queueOf(w.priority);
    cq.q.pushBack(w);
    cq.live++;
    cq.liveTokens += w.tokens;
    w.latestStartAt = w.deadlineAt - service;
    if (now + this.maxQueueMs < w.latestStartAt) {
      w.latestStartAt = now + this.maxQueueMs;
      w.queueBound = true;
    }
    if (Number.isFinite(w.latestStartAt)) w.timer = this.clock.setTimer(w.latestStartAt - now, onWaiterDue, w);
    w.scope?.add(w);
  }

  /** Checks the queue bounds; an online arrival may displace the newest nearline waiters. */
  private makeRoom(w: Waiter): boolean {
    if (w.tokens > this.maxQueuedTokens) return false;
    const over = (): boolean =>
      this.online.live + this.nearline.live + 1 > this.maxQueuedRequests ||
      this.online.liveTokens + this.nearline.liveTokens + w.tokens > this.maxQueuedTokens;
    if (!over()) return true;
    if (w.priority !== 'online') return false;
    // Only displace when that actually makes room: online work alone must fit the bounds.
    if (this.online.live + 1 > this.maxQueuedRequests || this.online.liveTokens + w.tokens > this.maxQueuedTokens)
      return false;
    while (over()) {
      const victim = this.nearline.back() as Waiter;
      this.refuseQueued(victim, 'queue-full');
    }
    return true;
  }

  /** Admits queued heads while they fit: online first, FIFO within a class. */
  private pump(): void {
    const now = this.clock.now();
    for (;;) {
      let w = this.online.front();
      if (w === undefined) w = this.nearline.front();
      if (w === undefined) return;
      if (now >= w.latestStartAt) {
        // Its timer is due (or late): refuse rather than admit work that would miss.
        this.refuseQueued(w, w.queueBound ? 'queue-time' : 'deadline');
        continue;
      }
      if (!this.fits(w.tokens)) return;
      this.queueOf(w.priority).shift();
      this.detach(w);
      this.admitNow(w, now);
    }
  }

  /** Waiters a new request of this class would queue behind: online ones, and nearline ones for nearline. */
  private queuedAhead(priority: Priority): number {
    return priority === 'online' ? this.online.live : this.online.live + this.nearline.live;
  }

  /** Whether such a request would be admitted at once (admit(), precheck() and tryAdmit() agree on it). */
  private immediate(tokens: number, priority: Priority): boolean {
    return this.queuedAhead(priority) === 0 && this.fits(tokens);
  }

  private fits(tokens: number): boolean {
    return this.inFlight + tokens <= this.capacity || this.inFlightCount === 0;
  }

  private admitNow(w: Waiter, now: number): void {
    w.state = State.Admitted;
    w.admittedAt = now;
    this.inFlight += w.tokens;
    this.inFlightCount++;
    this.nAdmitted++;
    const waited = now - w.arrivedAt;
    this.waitSumMs += waited;
    if (waited > this.waitMaxMs) this.waitMaxMs = waited;
    w.resolve(w);
  }

  /** A queued waiter settles with an error: it stays in its deque as a tombstone. */
  private leaveQueue(w: Waiter): void {
    w.state = State.Gone;
    this.detach(w);
    this.queueOf(w.priority).left(w);
  }

  private detach(w: Waiter): void {
    if (w.timer !== null) {
      this.clock.clearTimer(w.timer);
      w.timer = null;
    }
    w.scope?.delete(w);
  }

  private refuseQueued(w: Waiter, reason: RefusalReason): void {
    this.leaveQueue(w);
    this.nRefused[reason]++;
    w.reject(new ShaperRefused(reason, this.retryAfterS(), w.priority));
  }

  private refuseNew(w: Waiter, reason: RefusalReason): void {
    w.state = State.Gone;
    this.nRefused[reason]++;
    w.reject(new ShaperRefused(reason, this.retryAfterS(), w.priority));
  }

  private retryAfterS(): number {
    const s = Math.ceil(this.drainMs() / 1000);
    return Number.isFinite(s) && s >= 1 ? s : 1;
  }

  /** Expected backend time once admitted: the smoothed latency (0 until measured: fail open). */
  private serviceMs(): number {
    return Number.isNaN(this.latencyMs) ? 0 : this.latencyMs;
  }

  /**
   * Time until `demand` tokens (in flight + queued ahead + own) fit under `budget`, draining at
   * the measured rate. A saturated backend completes about one budget of tokens per latency
   * (Little's law), so the rate is budget / latency.
   */
  private waitForMs(demand: number, budget: number): number {
    const excess = demand - budget;
    if (excess <= 0) return 0;
    const lat = this.serviceMs();
    return (excess * lat) / this.capacity;
  }

  private queueOf(p: Priority): ClassQueue {
    return p === 'online' ? this.online : this.nearline;
  }
}
