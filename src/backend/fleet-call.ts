import { bufferPool } from '../mem/buffer-pool.js';
import { type Cancellable, type CancelScope, CancelledError } from '../mem/cancel-scope.js';
import { continuationFault, noop, resumeLater, resumeWith } from '../mem/continuation.js';
import type { BackendGroup } from './backend-group.js';
import { BackendUnavailable, type FailureClass, classifyFailure } from './errors.js';
import type { RetryBudget } from './retry-budget.js';
import type { BackendReply, SglangBackend } from './sglang-backend.js';

/** How the fleet sends scoring calls: retry budget and the optional hedge. */
export interface FleetPolicy {
  retryBudget: RetryBudget;
  /** Most backends one call may try in all (the first included), default 3. */
  maxAttempts: number;
  /** Send a second copy after the group's p95 latency (off by default). */
  hedge: boolean;
  /** Shortest hedge delay, ms: below it a hedge would only double the load. */
  hedgeMinDelayMs: number;
}

export interface FleetRequest {
  path: string;
  body: Uint8Array;
  /** Prompt tokens the call carries: what the pick balances. */
  tokens: number;
  /** Cancels the call when its only client leaves; undefined for shared calls. */
  scope: CancelScope | undefined;
  /** performance.now() after which nobody waits for the answer (Infinity: no deadline). */
  deadlineAt: number;
  /** Only idempotent calls (scoring) are retried or hedged. */
  idempotent: boolean;
  /** Extra headers every attempt carries (x-request-id, traceparent). */
  headers?: Record<string, string>;
  /** The call's span (tracing on): told which backend each attempt went to. */
  span?: { setAttribute(key: string, value: string): unknown } | null;
}

type Failure = { ok: false; cls: FailureClass; error: unknown; reply: BackendReply | null };
type Outcome = { ok: true; reply: BackendReply } | Failure;

/** The bookkeeping before a call: outstanding tokens, and whether it is the half-open trial. */
function begin(b: SglangBackend, req: FleetRequest): boolean {
  b.outstandingTokens += req.tokens;
  return b.outlier.onSend();
}

/**
 * A call that threw: counted and fed to outlier ejection, or rethrown when it was cancelled
 * (client gone, lost hedge), which says nothing about the backend.
 */
function thrown(b: SglangBackend, trial: boolean, e: unknown): Failure {
  if ((e as Error)?.name === 'AbortError') {
    b.outlier.onNeutral(trial);
    throw e;
  }
  const cls = classifyFailure(e);
  b.stats.errors[cls]++;
  b.latency.penalize();
  b.outlier.onFailure(trial, performance.now());
  return { ok: false, cls, error: e, reply: null };
}

/**
 * A call that answered: null when the reply is to be used (2xx, or a 4xx that is the request's
 * fault: no ejection, no retry), else the 5xx failure.
 */
function answered(b: SglangBackend, trial: boolean, started: number, reply: BackendReply): Failure | null {
  const now = performance.now();
  if (reply.status >= 500) {
    b.stats.errors['5xx']++;
    b.latency.penalize();
    b.lastError = `scoring answered ${reply.status}`;
    b.outlier.onFailure(trial, now);
    return { ok: false, cls: '5xx', error: null, reply };
  }
  if (reply.status >= 400) {
    b.stats.errors['4xx']++;
    b.outlier.onNeutral(trial);
    return null;
  }
  b.latency.observe(now - started);
  b.outlier.onSuccess(trial, now);
  return null;
}

/** One attempt on one backend with its bookkeeping (the hedge's copies). */
async function attempt(b: SglangBackend, req: FleetRequest, scope: CancelScope | undefined): Promise<Outcome> {
  const trial = begin(b, req);
  const started = performance.now();
  let reply: BackendReply;
  try {
    reply = await b.post(req.path, req.body, scope, req.headers);
  } catch (e) {
    return thrown(b, trial, e);
  } finally {
    b.outstandingTokens -= req.tokens;
  }
  return answered(b, trial, started, reply) ?? { ok: true, reply };
}

/** A per-attempt cancellation linked to the request's: a lost hedge is cancelled alone. */
class AttemptScope implements Cancellable {
  readonly scope: CancelScope;
  constructor(
    private readonly parent: CancelScope | undefined,
    make: () => CancelScope,
  ) {
    this.scope = make();
    parent?.add(this);
  }
  cancel(): void {
    this.scope.cancelAll();
  }
  done(): void {
    this.parent?.delete(this);
  }
}

function noBackend(group: BackendGroup, now: number): BackendUnavailable {
  const wait = group.msUntilTrial(now);
  const healthy = group.healthy();
  return new BackendUnavailable(
    healthy ? `every SGLang backend of ${group.info.modelPath} is ejected after failing calls` : `no healthy SGLang backend for ${group.info.modelPath}`,
    { retryAfterS: Number.isFinite(wait) ? wait / 1000 : 1 },
  );
}

function releaseReply(o: Outcome | null): void {
  if (o !== null && o.reply !== null) bufferPool.release(o.reply.body);
}

/** A fleet call's continuations: exactly one runs, never before the call's start() returns. */
export type ReplyOk = (reply: BackendReply) => void;
export type Fail = (e: unknown) => void;

const EMPTY = new Uint8Array(0);

/**
 * Sends one scoring call to a backend of `group` and continues with a reply whose status is
 * below 500, or with the last failure: a 5xx reply is passed on for relaying when no retry is
 * left, a broken exchange fails the call. Failed calls are retried on another backend of the
 * group while the retry budget and the request's deadline allow; a refused connection never
 * reached a server and is retried without spending the budget (Finagle's requeue).
 *
 * A pooled object with its continuations bound once, rather than an async function: the plain
 * (unhedged) call costs no promise or frame per request (the floor bench's allocation profile
 * had ~1.1 KB of heap per request in callFleet's frame and its awaits). Fill the request fields,
 * then start().
 */
export class FleetCall implements FleetRequest {
  path = '/v1/score';
  body: Uint8Array = EMPTY;
  /**
   * The body's bytes are body[0, bodyLength) (-1: all of it). A pooled writer's whole buffer with
   * its length, rather than a view of it: a view per call was ~95 B of heap per request.
   */
  bodyLength = -1;
  tokens = 0;
  scope: CancelScope | undefined = undefined;
  deadlineAt = Infinity;
  idempotent = true;
  headers: Record<string, string> | undefined = undefined;
  span: FleetRequest['span'] = null;

  private group: BackendGroup | null = null;
  private policy: FleetPolicy | null = null;
  private makeScope: () => CancelScope = noScope;
  private ok: ReplyOk = noop;
  private fail: Fail = noop;
  /** Allocated on the first failure only: most calls succeed at once. */
  private tried: SglangBackend[] | null = null;
  private first: SglangBackend | null = null;
  private last: Failure | null = null;
  private attempts = 0;
  private maxAttempts = 1;
  /** Inside start(): an ending now is reported on the next tick (the continuations' contract). */
  private starting = false;
  /** The plain attempt in flight. */
  private b: SglangBackend | null = null;
  private trial = false;
  private started = 0;
  /** Counts endings: tells a call still running from this object reused after its end(). */
  private gen = 0;

  /** A call from the free list, its request fields at their defaults. */
  static take(): FleetCall {
    return free.pop() ?? new FleetCall();
  }

  start(group: BackendGroup, policy: FleetPolicy, makeScope: () => CancelScope, ok: ReplyOk, fail: Fail): void {
    this.group = group;
    this.policy = policy;
    this.makeScope = makeScope;
    this.ok = ok;
    this.fail = fail;
    this.maxAttempts = this.idempotent ? Math.max(1, policy.maxAttempts) : 1;
    this.starting = true;
    const gen = this.gen;
    try {
      if (this.scope?.cancelled) throw new CancelledError();
      policy.retryBudget.deposit();
      this.next();
    } catch (e) {
      if (this.gen === gen) this.end(null, e);
      else continuationFault(e);
    } finally {
      this.starting = false;
    }
  }

  /** The next attempt, or the ending when none may be made. */
  private next(): void {
    const group = this.group as BackendGroup;
    const policy = this.policy as FleetPolicy;
    if (this.attempts > this.maxAttempts) return this.exhausted();
    this.attempts++;
    const now = performance.now();
    const b = group.pick(now, this.tried ?? undefined);
    if (b === null) return this.exhausted();
    const last = this.last;
    if (last !== null) {
      // Connect failures are requeued for free; anything else is a retry within the budget,
      // and only while the answer can still arrive in time.
      const requeue = last.cls === 'connect';
      if (!requeue && (this.tried as SglangBackend[]).length >= this.maxAttempts) return this.exhausted();
      if (now >= this.deadlineAt - estimateMs(b)) return this.exhausted();
      if (!requeue && !policy.retryBudget.tryWithdraw(now)) return this.exhausted();
      b.stats.retries++;
    }
    if (this.tried !== null) this.tried.push(b);
    else if (policy.hedge) this.tried = [b];
    else this.first = b;
    if (policy.hedge && this.idempotent) {
      // The copies get the request as an object of their own: a losing copy settles after this call has gone back to the free list.
      const body = this.bodyLength < 0 ? this.body : this.body.subarray(0, this.bodyLength);
      const req: FleetRequest = { path: this.path, body, tokens: this.tokens, scope: this.scope, deadlineAt: this.deadlineAt, idempotent: true, headers: this.headers, span: this.span };
      hedged(group, b, req, policy, this.tried as SglangBackend[], this.makeScope).then(this.hedgeDone, this.hedgeFailed);
      return;
    }
    this.b = b;
    this.trial = begin(b, this);
    this.started = performance.now();
    this.span?.setAttribute('server.address', b.url);
    try {
      b.postCall(this.path, this.body, this.scope, this.headers, this.replied, this.postFailed, this.bodyLength < 0 ? this.body.length : this.bodyLength);
    } catch (e) {
      // postCall reports failures through postFailed; a throw is a bug: the attempt is undone, the call ends with it.
      this.attemptDone();
      b.outlier.onNeutral(this.trial);
      throw e;
    }
  }

  private readonly replied = (reply: BackendReply): void => {
    const b = this.attemptDone();
    this.attempted(answered(b, this.trial, this.started, reply), reply);
  };

  private readonly postFailed = (e: unknown): void => {
    const b = this.attemptDone();
    let failure: Failure;
    try {
      failure = thrown(b, this.trial, b.postFailure(e));
    } catch (cancelled) {
      return this.cancelled(cancelled);
    }
    this.attempted(failure, null);
  };

  private readonly hedgeDone = (o: Outcome): void => {
    if (o.ok) this.attempted(null, o.reply);
    else this.attempted(o, null);
  };

  private readonly hedgeFailed = (e: unknown): void => this.cancelled(e);

  /** The plain attempt's bookkeeping once it settled; returns its backend. */
  private attemptDone(): SglangBackend {
    const b = this.b as SglangBackend;
    this.b = null;
    b.postDone();
    b.outstandingTokens -= this.tokens;
    return b;
  }

  /** An attempt ended: its reply used (failure null), else the next attempt or the ending. */
  private attempted(failure: Failure | null, reply: BackendReply | null): void {
    releaseReply(this.last);
    if (failure === null) {
      this.last = null;
      return this.end(reply, null);
    }
    this.last = failure;
    if (this.tried === null) this.tried = [this.first as SglangBackend];
    if (this.scope?.cancelled) return this.exhausted();
    const gen = this.gen;
    try {
      this.next();
    } catch (e) {
      // Only a call still running ends here: one that next() already ended may be another request's by now.
      if (this.gen === gen) this.cancelled(e);
      else continuationFault(e);
    }
  }

  /** Cancelled (client gone, deadline passed): an earlier failed reply is not relayed now. */
  private cancelled(e: unknown): void {
    releaseReply(this.last);
    this.last = null;
    this.end(null, e);
  }

  private exhausted(): void {
    const last = this.last;
    this.last = null;
    if (last === null) this.end(null, noBackend(this.group as BackendGroup, performance.now()));
    else if (last.reply !== null) this.end(last.reply, null);
    else this.end(null, last.error);
  }

  /** Back to the free list, then the caller's continuation: `reply`, else the failure `e`. */
  private end(reply: BackendReply | null, e: unknown): void {
    const { ok, fail, starting } = this;
    this.gen++;
    this.path = '/v1/score';
    this.body = EMPTY;
    this.bodyLength = -1;
    this.tokens = 0;
    this.scope = undefined;
    this.deadlineAt = Infinity;
    this.idempotent = true;
    this.headers = undefined;
    this.span = null;
    this.group = null;
    this.policy = null;
    this.makeScope = noScope;
    this.ok = noop;
    this.fail = noop;
    this.tried = null;
    this.first = null;
    this.attempts = 0;
    if (free.length < 256) free.push(this);
    if (starting) {
      if (reply !== null) resumeLater(ok, reply);
      else resumeLater(fail, e);
    } else if (reply !== null) resumeWith(ok, reply);
    else resumeWith(fail, e);
  }
}

const free: FleetCall[] = [];

/** callFleet with a request object and a promise, for callers off the hot path (relayed requests). */
export function callFleet(group: BackendGroup, req: FleetRequest, policy: FleetPolicy, makeScope: () => CancelScope): Promise<BackendReply> {
  const c = FleetCall.take();
  c.path = req.path;
  c.body = req.body;
  c.tokens = req.tokens;
  c.scope = req.scope;
  c.deadlineAt = req.deadlineAt;
  c.idempotent = req.idempotent;
  c.headers = req.headers;
  c.span = req.span ?? null;
  return new Promise<BackendReply>((resolve, reject) => c.start(group, policy, makeScope, resolve, reject));
}

function noScope(): CancelScope {
  throw new Error('fleet call: no scope factory');
}

/** Time a retry needs to be worth sending: the backend's smoothed latency (0 when unknown). */
function estimateMs(b: SglangBackend): number {
  const e = b.latency.ewmaMs;
  return Number.isNaN(e) ? 0 : e;
}

/**
 * The first copy goes to `first`; if no answer came after the group's p95 latency, a second
 * copy goes to another backend (paid from the retry budget). The first good answer wins and
 * the other copy is aborted; if the first copy to finish failed, the other is awaited.
 */
function hedged(
  group: BackendGroup,
  first: SglangBackend,
  req: FleetRequest,
  policy: FleetPolicy,
  tried: SglangBackend[],
  makeScope: () => CancelScope,
): Promise<Outcome> {
  const p95 = group.p95Ms();
  if (Number.isNaN(p95)) return attempt(first, req, req.scope);
  const delay = Math.max(policy.hedgeMinDelayMs, p95);
  return new Promise<Outcome>((resolve, reject) => {
    const scopes: AttemptScope[] = [];
    const backends: SglangBackend[] = [];
    let pending = 0;
    let settled = false;
    let failed: Outcome | null = null;
    let timer: NodeJS.Timeout | null = null;
    const finish = (winner: number, o: Outcome | null, e: unknown): void => {
      settled = true;
      if (timer !== null) clearTimeout(timer);
      for (let i = 0; i < scopes.length; i++) {
        if (i !== winner) scopes[i]!.cancel();
        scopes[i]!.done();
      }
      // Both copies share the call's span: it names the backend whose answer was used.
      if (winner >= 0) req.span?.setAttribute('server.address', (backends[winner] as SglangBackend).url);
      if (backends.length > 1 && winner >= 0) {
        const hedge = backends[1]!;
        if (winner === 1) hedge.stats.hedgesWon++;
        else hedge.stats.hedgesLost++;
      }
      if (o !== null) resolve(o);
      else reject(e);
    };
    const launch = (b: SglangBackend): void => {
      const i = scopes.length;
      const s = new AttemptScope(req.scope, makeScope);
      scopes.push(s);
      backends.push(b);
      pending++;
      attempt(b, req, s.scope).then(
        (o) => {
          pending--;
          if (settled) return releaseReply(o.ok ? { ok: false, cls: '5xx', error: null, reply: o.reply } : o);
          if (o.ok) {
            releaseReply(failed);
            return finish(i, o, null);
          }
          if (pending > 0 || timer !== null) {
            releaseReply(failed);
            failed = o;
            // The first copy failed before the hedge went out: send no hedge, let the caller retry.
            if (timer !== null && pending === 0) finish(-1, failed, null);
            return;
          }
          releaseReply(failed);
          finish(-1, o, null);
        },
        (e: unknown) => {
          pending--;
          if (settled) return;
          if (pending > 0) return; // a lost copy's cancellation while the other still runs
          if (failed !== null) return finish(-1, failed, null);
          finish(-1, null, e);
        },
      );
    };
    launch(first);
    timer = setTimeout(() => {
      timer = null;
      if (settled) return;
      const now = performance.now();
      if (now >= req.deadlineAt) return;
      const second = group.pick(now, tried);
      if (second === null || !policy.retryBudget.tryWithdraw(now)) return;
      tried.push(second);
      launch(second);
    }, delay);
  });
}
