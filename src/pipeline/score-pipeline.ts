import type { BackendSet } from '../backend/backend-set.js';
import type { BackendGroup } from '../backend/backend-group.js';
import { type FleetPolicy, callFleet } from '../backend/fleet-call.js';
import { BackendUnavailable } from '../backend/errors.js';
import type { BackendInfo, ScoringMode } from '../backend/server-info.js';
import type { ScoreCache } from '../cache/score-cache.js';
import { DeadlineExceededInFlight, ShaperRefused } from '../control/shaper-errors.js';
import { TokenizeExpired, TokenizerBusy } from '../tokenize/pool.js';
import { TYPE_BAD_REQUEST } from '../sglang/errors.js';
import { tooLongMessage } from '../sglang/score-schema.js';
import { ScoreError } from './errors.js';
import type { RankInput } from './rank-input.js';
import type { AdmissionTicket, TrafficShaper } from '../control/traffic-shaper.js';
import { CancelScope, CancelledError } from '../mem/cancel-scope.js';
import { noop, resume, resumeWith } from '../mem/continuation.js';
import type { ScorecarMetrics } from '../metrics/registry.js';
import { type Batch, batchBase, itemCost } from './batch.js';
import type { KeyedHash } from '../mem/keyed-hash.js';
import { type CacheContext, backendContext, computeKeys, identify, lookupScores, lookupScoresNow, storeScores } from './cache-stage.js';
import { Coalescer } from './coalescer.js';
import { DeadlineWatch, type Watched } from './deadline-watch.js';
import { requestUsage } from './usage.js';
import { type BatchIds, type PackObserver, sendBatch, sendBatchAsync } from './dispatch-stage.js';
import type { Observe } from '../observe/observe.js';
import { REQUEST_ID_HEADER } from '../observe/request-id.js';
import { SpanKind, SpanStatusCode, TRACEPARENT, traceparentOf } from '../observe/tracing.js';
import { type RankTokenizeDeps, tokenizeRank } from './rank-stage.js';
import type { ScoreJob } from './score-job.js';
import { type TextLookup, type TokenizeDeps, resolveIds, resolveTextNow, resolveTextRest } from './tokenize-stage.js';

export interface PipelineOptions {
  /** MIS pack budget; null = min(backend max_req_input_len, 8192). */
  maxPackTokens: number | null;
  /** Single-item mode: the most prompt tokens one backend call carries. */
  maxCallTokens: number;
  /** Cross-request coalescing window, milliseconds (0: off). */
  coalesceWindowMs: number;
  /**
   * Input ids must lie in [0, inputVocab) unless the backend reports its embedding table's size
   * (/model_info vocab_size), which then wins: --vocab-size, else len(tokenizer).
   */
  inputVocab: number;
  /**
   * Most bytes one request may hand the tokenizer, counted before tokenizing as the worst case:
   * single-item mode tokenizes query + item per item (query bytes x items + item bytes), MIS
   * each text once.
   */
  maxTokenizeBytes: number;
}

export interface PipelineDeps {
  tokenize: TokenizeDeps;
  rankTokenize: RankTokenizeDeps;
  backends: BackendSet;
  metrics: ScorecarMetrics;
  cache: ScoreCache;
  shaper: TrafficShaper;
  /** Keyed hashing for cache identity (score-cache keys, token-cache keys). */
  hasher: KeyedHash;
  /** Batch ids of coalesced calls and the log of their request ids (default: ids made, nothing logged). */
  observe?: Pick<Observe, 'ids' | 'log'>;
  /** Retry budget and hedging of backend calls. */
  fleet: FleetPolicy;
}

const DEFAULT_PACK_TOKENS = 8192;

/**
 * How often in-flight deadlines are checked: a request whose deadline passes in flight is
 * cancelled (answered 504) within this much of it. A reply that lands after the deadline but
 * before the check is still answered 504 (dispatchEnded compares the clock).
 */
const DEADLINE_TICK_MS = 10;

/**
 * The scoring path, one stage after another: score-cache lookup (keyed on what the client
 * sent, so hits are never tokenized), token ids for the misses (caches, then workers),
 * admission by the traffic shaper, packing by prefix (coalescing concurrent same-query
 * requests), dispatch, and storing the new rows. Rows end up on the job in item order. It
 * knows neither HTTP nor gRPC, nor SGLang's wire format (backend/ does).
 */
export class ScorePipeline {
  private readonly tokenizeSlot: number;
  private readonly backendSlot: number;
  private readonly queueSlot: number;
  private readonly packObserver: PackObserver;
  readonly coalescer: Coalescer<BackendGroup>;
  private readonly runs: Run[] = [];
  private readonly deadlines = new DeadlineWatch(DEADLINE_TICK_MS);
  private cacheContext: { modelPath: string; weightVersion: string; mode: ScoringMode; emulator: boolean; ctx: CacheContext } | null = null;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly opts: PipelineOptions,
  ) {
    const { metrics } = deps;
    this.tokenizeSlot = metrics.stage.slot('tokenize');
    this.backendSlot = metrics.stage.slot('backend');
    this.queueSlot = metrics.stage.slot('queue');
    const { packs, packItems, packTokens } = metrics;
    const slots = { mis: packs.slot('mis'), single: packs.slot('single') };
    this.packObserver = (mode, items, tokens) => {
      packs.inc(slots[mode]);
      packItems.observe(0, items);
      packTokens.observe(0, tokens);
    };
    const batchIds: BatchIds | undefined = deps.observe;
    const send = (b: Batch, group: BackendGroup): Promise<void> => sendBatchAsync(b, group, deps.fleet, this.packObserver, batchIds, false);
    // A lone job's batch is given back by sendBatch itself: no wrapper frame per request.
    const sendOne = (b: Batch, group: BackendGroup, ok: () => void, fail: (e: unknown) => void): void =>
      sendBatch(b, group, deps.fleet, this.packObserver, batchIds, true, ok, fail);
    this.coalescer = new Coalescer<BackendGroup>(opts.coalesceWindowMs, (batches, group) => Promise.allSettled(batches.map((b) => send(b, group))), sendOne);
  }

  /** The served model, as /rank reports it. */
  modelName(): string {
    return this.deps.backends.pick()?.info?.modelPath ?? 'unknown';
  }

  get hasher(): KeyedHash {
    return this.deps.hasher;
  }

  /** The cache key lanes of the serving backend, recomputed only when its identity changes. */
  private context(info: BackendInfo): CacheContext {
    const c = this.cacheContext;
    const { modelPath, weightVersion, mode, emulator } = info;
    if (c !== null && c.modelPath === modelPath && c.weightVersion === weightVersion && c.mode === mode && c.emulator === emulator) return c.ctx;
    const ctx = backendContext(this.deps.hasher, modelPath, weightVersion, mode, emulator);
    this.cacheContext = { modelPath, weightVersion, mode, emulator, ctx };
    return ctx;
  }

  /** start() with a promise, for callers that await the job (gRPC, /rank). */
  run(job: ScoreJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.start(job, resolve, reject)) resolve();
    });
  }

  /**
   * Scores a job. When the backend's tokenizer differs from scorecar's, text cannot be turned
   * into the ids SGLang would produce, so the original body is relayed instead (job.relay); so
   * is a request that uses scoring features scorecar does not compute (job.asIs).
   *
   * Returns true when the job is done at once (every row a memory-cache hit, nothing to send),
   * throws when it fails at once (neither continuation runs then); otherwise returns false and
   * continues with `ok` or `fail`, once. The stages resume from a pooled Run's bound
   * continuations, not an async frame: the floor bench's allocation profile had ~0.8 KB of heap
   * per request in run()'s frame and awaits.
   */
  start(job: ScoreJob, ok: () => void, fail: (e: unknown) => void): boolean {
    const r = this.runs.pop() ?? new Run(this);
    r.job = job;
    r.ok = ok;
    r.fail = fail;
    let done: boolean;
    try {
      done = this.begin(r);
    } catch (e) {
      this.giveRun(r);
      throw e;
    }
    if (done) this.giveRun(r);
    return done;
  }

  /** @internal a Run back to the free list, emptied. */
  giveRun(r: Run): void {
    r.job = null;
    r.ok = noop;
    r.fail = noop;
    r.group = null;
    r.info = null;
    r.ticket = null;
    this.deadlines.remove(r);
    if (this.runs.length < 256) this.runs.push(r);
  }

  /** Routing, checks and the cache lookup. Each stage below returns true when the job is done, false when a continuation will resume it. */
  private begin(r: Run): boolean {
    const job = r.job as ScoreJob;
    const { backends, cache } = this.deps;
    // One routing decision per request: the cache key below and the backend call both use
    // this group's identity, so a cached row always names the model that computed it.
    const group = backends.route(job.modelStart >= 0 ? job.body.toString('utf8', job.modelStart, job.modelEnd) : null);
    if (group === null) throw new BackendUnavailable('no healthy SGLang backend');
    const info = group.info;
    r.group = group;
    r.info = info;
    // Rows computed while the backend's identity changed are not cached under either identity.
    r.epoch = backends.identityEpoch;
    // Relayed requests have their own (rarer) path.
    if (job.asIs || (job.kind === 'text' && group.tokenizer !== 'match')) {
      this.relay(job, group, info).then(r.resumed, r.failed);
      return false;
    }
    const mis = info.mode === 'mis';
    r.mis = mis;
    if (job.kind !== 'text') checkIdRange(job, info.vocabSize ?? this.opts.inputVocab);
    if (job.kind === 'text') checkTokenizeWork(job, mis, this.opts.maxTokenizeBytes);
    job.selectAll();
    // Text needs its identity for the token caches too; ids only for the score cache.
    if (job.kind === 'text' || (job.kind === 'ids' && cache.kind !== 'off')) identify(job, this.deps.hasher);
    if (cache.kind === 'off' || job.n === 0) return this.admit(r);
    // Tracing: each stage becomes a child span of the request's, from timestamps taken only
    // when the job is traced (t0 is 0 otherwise and never read).
    r.t0 = job.trace !== null ? performance.now() : 0;
    computeKeys(job, this.context(info), mis, this.deps.hasher);
    if (lookupScoresNow(job, cache) >= 0) return this.lookedUp(r);
    lookupScores(job, cache).then(r.afterLookup, r.failed);
    return false;
  }

  /** @internal after the cache lookup: done when every row was a hit. */
  lookedUp(r: Run): boolean {
    const job = r.job as ScoreJob;
    const t = job.trace;
    if (t !== null) t.stage('cache lookup', r.t0, performance.now(), { 'scorecar.cache': this.deps.cache.kind, 'scorecar.cache_hits': job.cacheHits });
    if (job.nActive === 0) {
      job.promptTokens = requestUsage(job, r.mis);
      return true;
    }
    return this.admit(r);
  }

  /** The misses' token ids: at once for ids, from the token caches and workers for text. */
  private admit(r: Run): boolean {
    const job = r.job as ScoreJob;
    // The cheap admission, before any tokenizing: a full queue or a deadline that cannot be met
    // (estimating tokens from bytes) is refused now instead of after the workers' effort.
    if (job.kind !== 'ids') this.deps.shaper.precheck(estimateTokens(job), job.deadlineAt, job.priority);
    if (job.kind === 'ids') {
      resolveIds(job);
      return this.tokenized(r);
    }
    const t0 = job.trace !== null ? performance.now() : 0;
    const found = job.kind === 'text' ? resolveTextNow(job, this.deps.tokenize, r.mis) : null;
    // Warm text (every text in the token caches, every join exact) goes on at once, as ids do.
    if (job.kind === 'text' && found === null) {
      this.tokenizeEnded(job, t0);
      return this.tokenized(r);
    }
    this.tokenize(job, r.mis, found, t0).then(r.afterTokenize, r.failed);
    return false;
  }

  /** @internal the job's prompts are known: checked against the backend's limits, then admitted by the shaper. */
  tokenized(r: Run): boolean {
    const job = r.job as ScoreJob;
    const mis = r.mis;
    const info = r.info as BackendInfo;
    let itemTokens = 0;
    let longest = 0;
    for (let k = 0; k < job.nActive; k++) {
      const c = itemCost(job, job.active[k] as number, mis);
      itemTokens += c;
      if (c > longest) longest = c;
    }
    // One prompt (query + one item) over the backend's limit fails this request alone, with
    // SGLang's message, before it can share a pack with coalesced neighbours. A request whose
    // prompts each fit is split however large its whole (a documented difference from SGLang).
    const tooLong = job.nActive > 0 ? tooLongMessage(batchBase(job, mis) + longest, info.contextLength, info.maxReqInputLen) : null;
    if (tooLong !== null) throw new ScoreError(400, tooLong, TYPE_BAD_REQUEST);
    r.itemTokens = itemTokens;
    const cost = batchBase(job, mis) + itemTokens;
    // Admitted at once (the usual case) without a promise; otherwise queued, or refused, by admit().
    const shaper = this.deps.shaper;
    const ticket = shaper.tryAdmit(cost, job.deadlineAt, job.priority, job.scope);
    if (ticket !== null) return this.dispatch(r, ticket);
    shaper.admit(cost, job.deadlineAt, job.priority, job.scope).then(r.admitted, r.failed);
    return false;
  }

  /** @internal admitted: the backend call(s), their deadline watched. */
  dispatch(r: Run, ticket: AdmissionTicket): boolean {
    try {
      return this.send(r, ticket);
    } catch (e) {
      // Admitted but not sent: the deadline is no longer watched, the ticket goes back without a latency sample.
      this.deadlines.remove(r);
      r.ticket = null;
      this.deps.shaper.release(ticket, undefined);
      throw e;
    }
  }

  private send(r: Run, ticket: AdmissionTicket): boolean {
    const job = r.job as ScoreJob;
    const info = r.info as BackendInfo;
    r.ticket = ticket;
    job.queueMs = ticket.queuedMs;
    this.deps.metrics.stage.observe(this.queueSlot, ticket.queuedMs / 1000);
    const started = performance.now();
    r.started = started;
    if (job.trace !== null) job.trace.stage('shaper queue', started - ticket.queuedMs, started);
    // A deadline that passes in flight cancels the backend call (504 rather than a late answer).
    const remaining = job.deadlineAt - started;
    if (Number.isFinite(remaining)) this.deadlines.add(r, job.deadlineAt);
    const budget = r.mis
      ? Math.min(this.opts.maxPackTokens ?? Math.min(info.maxReqInputLen, DEFAULT_PACK_TOKENS), info.maxReqInputLen - 1)
      : this.opts.maxCallTokens;
    this.coalescer.dispatch(job, r.group as BackendGroup, budget, r.itemTokens, r.dispatched, r.dispatchFailed);
    return false;
  }

  /** @internal the backend call(s) ended (`e` null: the rows are in): bookkeeping, then the rows stored. */
  dispatchEnded(r: Run, failed: boolean, e: unknown): void {
    const job = r.job as ScoreJob;
    const { backends, cache, shaper, metrics } = this.deps;
    this.deadlines.remove(r);
    const started = r.started;
    job.backendMs = performance.now() - started;
    shaper.release(r.ticket as AdmissionTicket, failed ? undefined : job.backendMs);
    r.ticket = null;
    metrics.stage.observe(this.backendSlot, job.backendMs / 1000);
    const t = job.trace;
    // The coalescing window and the backend call(s) (their own client spans sit beside it).
    if (t !== null) t.stage('dispatch', started, started + job.backendMs, { 'scorecar.items': job.nActive, 'scorecar.ok': !failed });
    if (failed) {
      if (e instanceof CancelledError && (job.deadlineFired || performance.now() >= job.deadlineAt)) {
        throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
      }
      throw e;
    }
    if (performance.now() > job.deadlineAt) throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
    job.promptTokens = requestUsage(job, r.mis);
    if (cache.kind !== 'off' && backends.identityEpoch === r.epoch) {
      const t0 = t !== null ? performance.now() : 0;
      storeScores(job, cache, r.mis);
      if (t !== null) t.stage('cache store', t0, performance.now());
    }
  }

  /** Token ids for a text or /rank job's misses (token caches, then the workers), in its own frame. */
  private async tokenize(job: ScoreJob, mis: boolean, found: TextLookup | null, t0: number): Promise<void> {
    try {
      if (found !== null) await resolveTextRest(job, this.deps.tokenize, mis, found);
      else await tokenizeRank(job, job.rankInput!, this.deps.rankTokenize);
    } catch (e) {
      if (e instanceof TokenizerBusy) throw new ShaperRefused('queue-full', 1, job.priority);
      if (e instanceof TokenizeExpired) throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
      throw e;
    }
    this.tokenizeEnded(job, t0);
  }

  private tokenizeEnded(job: ScoreJob, t0: number): void {
    this.deps.metrics.stage.observe(this.tokenizeSlot, job.tokenizeMs / 1000);
    if (job.trace !== null) job.trace.stage('tokenize', t0, performance.now(), { 'scorecar.items': job.nActive });
  }

  /**
   * A request SGLang must see as the client sent it: the original body relayed, its reply's
   * pooled buffer left on job.relay for the route to send and release.
   */
  private async relay(job: ScoreJob, group: BackendGroup, info: BackendInfo): Promise<void> {
    const { shaper } = this.deps;
    if (job.asIs) checkArenaIds(job, info.vocabSize ?? this.opts.inputVocab);
    const request = job.rawRequest !== null ? job.rawRequest.subarray(0, job.rawLength) : job.body.subarray(0, job.bodyLength);
    // Relayed requests take their share of the backend's budget like any other: their tokens
    // are unknown, so a bound from their size stands in (a token is at least a byte of text,
    // and an id takes at least two bytes of JSON).
    const tokens = Math.ceil(request.length / 2);
    const ticket = shaper.tryAdmit(tokens, job.deadlineAt, job.priority, job.scope) ?? (await shaper.admit(tokens, job.deadlineAt, job.priority, job.scope));
    job.queueMs = ticket.queuedMs;
    let ok = false;
    const started = performance.now();
    const t = job.trace;
    if (t !== null) t.stage('shaper queue', started - ticket.queuedMs, started);
    const span = t !== null ? t.child('backend score', SpanKind.CLIENT, started) : null;
    try {
      const headers: Record<string, string> = {};
      if (job.requestId !== '') headers[REQUEST_ID_HEADER] = job.requestId;
      const tp = span !== null ? traceparentOf(span) : job.traceparent;
      if (tp !== null) headers[TRACEPARENT] = tp;
      span?.setAttribute('scorecar.relayed', job.asIs ? 'as-is' : 'tokenizer-mismatch');
      // The reply's pooled buffer goes with job.relay: whoever sends it releases it once the
      // bytes are written (the job releases it on reset if nobody took it).
      job.relay = await callFleet(
        group,
        { path: '/v1/score', body: request, tokens, scope: job.scope, deadlineAt: job.deadlineAt, idempotent: true, headers, span },
        this.deps.fleet,
        newScope,
      );
      span?.setAttribute('http.response.status_code', job.relay.status);
      ok = true;
    } catch (e) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      job.backendMs = performance.now() - started;
      span?.end(started + job.backendMs);
      shaper.release(ticket, ok ? job.backendMs : undefined);
    }
  }
}

/**
 * One job in the pipeline: what run() would keep in an async frame across its stages, in an
 * object the pipeline reuses, with its continuations bound once. Each continuation resumes the
 * next stage; a stage that ends the job (true) or throws ends it here, once.
 */
class Run implements Watched {
  job: ScoreJob | null = null;
  ok: () => void = noop;
  fail: (e: unknown) => void = noop;
  group: BackendGroup | null = null;
  info: BackendInfo | null = null;
  mis = false;
  epoch = 0;
  itemTokens = 0;
  /** Trace start of the cache lookup (traced jobs only). */
  t0 = 0;
  started = 0;
  ticket: AdmissionTicket | null = null;
  /** The job's deadline, watched while its backend call(s) are in flight (DeadlineWatch's links). */
  dueAt = 0;
  watchPrev: Watched | null = null;
  watchNext: Watched | null = null;
  watched = false;

  constructor(private readonly pipeline: ScorePipeline) {}

  /** A stage that ran to its end (the relay). */
  readonly resumed = (): void => this.end(true, null);
  readonly failed = (e: unknown): void => this.end(false, e);
  readonly afterLookup = (): void => this.resumeAt(LOOKED_UP);
  readonly afterTokenize = (): void => this.resumeAt(TOKENIZED);
  readonly admitted = (ticket: AdmissionTicket): void => {
    try {
      this.pipeline.dispatch(this, ticket);
    } catch (e) {
      this.end(false, e);
    }
  };
  expired(): void {
    this.job?.expire();
  }

  readonly dispatched = (): void => this.dispatchEnded(false, null);
  readonly dispatchFailed = (e: unknown): void => this.dispatchEnded(true, e);

  /** Runs the stages from `stage` on; the run ends here when they finish or throw. */
  private resumeAt(stage: (p: ScorePipeline, r: Run) => boolean): void {
    let done: boolean;
    try {
      done = stage(this.pipeline, this);
    } catch (e) {
      return this.end(false, e);
    }
    if (done) this.end(true, null);
  }

  private dispatchEnded(failed: boolean, e: unknown): void {
    try {
      this.pipeline.dispatchEnded(this, failed, e);
    } catch (err) {
      return this.end(false, err);
    }
    this.end(true, null);
  }

  private end(done: boolean, e: unknown): void {
    const { ok, fail } = this;
    this.pipeline.giveRun(this);
    if (done) resume(ok);
    else resumeWith(fail, e);
  }
}

const LOOKED_UP = (p: ScorePipeline, r: Run): boolean => p.lookedUp(r);
const TOKENIZED = (p: ScorePipeline, r: Run): boolean => p.tokenized(r);

/** Refuses input ids outside [0, vocab) before any backend call (SGLang 0.5.23 does not check). */
function checkIdRange(job: ScoreJob, vocab: number): void {
  if (job.kind === 'ids') {
    // The byte scanner kept the bounds as it read the ids: in range, no second pass.
    if (job.idStatsValid && !job.idNegative && job.idMax < vocab) return;
    const a = job.arena;
    for (let i = 0; i < job.arenaUsed; i++) {
      const v = a[i] as number;
      if (v < 0 || v >= vocab) throw idOutOfRange(v, vocab);
    }
    return;
  }
  const input = job.rankInput as RankInput | null;
  if (input === null) return;
  if (typeof input.query !== 'string') checkIds(input.query, vocab);
  for (let k = 0; k < input.items.length; k++) {
    const ids = input.items[k]?.ids;
    if (ids !== undefined) checkIds(ids, vocab);
  }
}

/** Every id a job holds in its arena (a request sent as is keeps its ids there for this). */
function checkArenaIds(job: ScoreJob, vocab: number): void {
  const a = job.arena;
  for (let i = 0; i < job.arenaUsed; i++) {
    const v = a[i] as number;
    if (v < 0 || v >= vocab) throw idOutOfRange(v, vocab);
  }
}

function checkIds(ids: readonly number[], vocab: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    if (v < 0 || v >= vocab) throw idOutOfRange(v, vocab);
  }
}

function idOutOfRange(v: number, vocab: number): ScoreError {
  return new ScoreError(
    400,
    `Input token id ${v} is out of range [0, ${vocab}) of the model's embedding table (scorecar checks input ids; SGLang does not)`,
    TYPE_BAD_REQUEST,
  );
}

/** Bytes of text one request may make the tokenizer read, worst case, checked before tokenizing. */
function checkTokenizeWork(job: ScoreJob, mis: boolean, limit: number): void {
  const q = job.queryEnd - job.queryStart;
  let items = 0;
  for (let i = 0; i < job.n; i++) items += (job.itemSpans[2 * i + 1] as number) - (job.itemSpans[2 * i] as number);
  const work = mis ? q + items : q * job.n + items;
  if (work > limit) {
    throw new ScoreError(
      413,
      `Tokenizing work too large: ${work} bytes (${mis ? 'query + items' : 'query bytes x items + item bytes, single-item mode'}) > ${limit} (scorecar --max-tokenize-bytes)`,
      TYPE_BAD_REQUEST,
    );
  }
}

/**
 * Prompt tokens a job will probably cost, from byte counts (about four bytes a token for
 * English text): enough for the cheap admission; the exact count is admitted after tokenizing.
 */
function estimateTokens(job: ScoreJob): number {
  let bytes = 0;
  const input = job.rankInput;
  if (job.kind === 'tokens' && input !== null) {
    const q = typeof input.query === 'string' ? input.query.length : 4 * input.query.length;
    for (let k = 0; k < job.nActive; k++) {
      const it = input.items[job.active[k] as number];
      bytes += q + (it?.text?.length ?? (it?.ids !== undefined ? 4 * it.ids.length : 256));
    }
  } else {
    const q = job.queryEnd - job.queryStart;
    for (let k = 0; k < job.nActive; k++) {
      const i = job.active[k] as number;
      bytes += q + (job.itemSpans[2 * i + 1] as number) - (job.itemSpans[2 * i] as number);
    }
  }
  return Math.ceil(bytes / 4);
}

function newScope(): CancelScope {
  return new CancelScope();
}
