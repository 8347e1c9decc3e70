import { bufferPool } from '../mem/buffer-pool.js';
import { type Cancellable, type CancelScope, CancelledError } from '../mem/cancel-scope.js';
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

/**
 * Sends one scoring call to a backend of `group` and returns a reply with a status below 500,
 * or the last failure: a 5xx reply is returned for relaying when no retry is left, a broken
 * exchange is thrown. Failed calls are retried on another backend of the group while the
 * retry budget and the request's deadline allow; a refused connection never reached a server
 * and is retried without spending the budget (Finagle's requeue).
 */
export async function callFleet(group: BackendGroup, req: FleetRequest, policy: FleetPolicy, makeScope: () => CancelScope): Promise<BackendReply> {
  if (req.scope?.cancelled) throw new CancelledError();
  policy.retryBudget.deposit();
  // Allocated on the first failure only: most calls succeed at once.
  let tried: SglangBackend[] | null = null;
  let first: SglangBackend | null = null;
  let last: Failure | null = null;
  const maxAttempts = req.idempotent ? Math.max(1, policy.maxAttempts) : 1;
  for (let n = 0; n < maxAttempts + 1; n++) {
    const now = performance.now();
    const b = group.pick(now, tried ?? undefined);
    if (b === null) break;
    if (last !== null) {
      // Connect failures are requeued for free; anything else is a retry within the budget,
      // and only while the answer can still arrive in time.
      const requeue = last.cls === 'connect';
      if (!requeue && (tried as SglangBackend[]).length >= maxAttempts) break;
      if (now >= req.deadlineAt - estimateMs(b)) break;
      if (!requeue && !policy.retryBudget.tryWithdraw(now)) break;
      b.stats.retries++;
    }
    if (tried !== null) tried.push(b);
    else if (policy.hedge) tried = [b];
    else first = b;
    let o: Failure;
    try {
      if (policy.hedge && req.idempotent) {
        const h = await hedged(group, b, req, policy, tried as SglangBackend[], makeScope);
        if (h.ok) {
          releaseReply(last);
          return h.reply;
        }
        o = h;
      } else {
        // The plain call inline, not through attempt() nor b.post(): two async frames less per
        // call on the hot path (the GC-free budget counts them).
        const trial = begin(b, req);
        const started = performance.now();
        let reply: BackendReply | null = null;
        let failure: Failure | null = null;
        req.span?.setAttribute('server.address', b.url);
        try {
          reply = await b.postRaw(req.path, req.body, req.scope, req.headers);
        } catch (e) {
          failure = thrown(b, trial, b.postFailure(e));
        } finally {
          b.postDone();
          b.outstandingTokens -= req.tokens;
        }
        if (reply !== null) failure = answered(b, trial, started, reply);
        if (failure === null) {
          releaseReply(last);
          return reply as BackendReply;
        }
        o = failure;
      }
    } catch (e) {
      // Cancelled (client gone, deadline passed): an earlier failed reply is not relayed now.
      releaseReply(last);
      throw e;
    }
    releaseReply(last);
    last = o;
    if (tried === null) tried = [first as SglangBackend];
    if (req.scope?.cancelled) break;
  }
  if (last === null) throw noBackend(group, performance.now());
  if (last.reply !== null) return last.reply;
  throw last.error;
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

