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
import type { TrafficShaper } from '../control/traffic-shaper.js';
import { CancelScope, CancelledError } from '../mem/cancel-scope.js';
import type { ScorecarMetrics } from '../metrics/registry.js';
import { type Batch, batchBase, itemCost } from './batch.js';
import type { KeyedHash } from '../mem/keyed-hash.js';
import { type CacheContext, backendContext, computeKeys, identify, lookupScores, storeScores } from './cache-stage.js';
import { Coalescer } from './coalescer.js';
import { requestUsage } from './usage.js';
import { type BatchIds, type PackObserver, sendBatch } from './dispatch-stage.js';
import type { Observe } from '../observe/observe.js';
import { REQUEST_ID_HEADER } from '../observe/request-id.js';
import { SpanKind, SpanStatusCode, TRACEPARENT, traceparentOf } from '../observe/tracing.js';
import { type RankTokenizeDeps, tokenizeRank } from './rank-stage.js';
import type { ScoreJob } from './score-job.js';
import { type TokenizeDeps, resolveIds, resolveText } from './tokenize-stage.js';

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
    const send = (b: Batch, group: BackendGroup): Promise<void> => sendBatch(b, group, deps.fleet, this.packObserver, batchIds, false);
    // A lone job's batch is given back by sendBatch itself: no wrapper frame per request.
    const sendOne = (b: Batch, group: BackendGroup): Promise<void> => sendBatch(b, group, deps.fleet, this.packObserver, batchIds, true);
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

  /**
   * Scores a job. When the backend's tokenizer differs from scorecar's, text cannot be turned
   * into the ids SGLang would produce, so the original body is relayed instead (job.relay); so
   * is a request that uses scoring features scorecar does not compute (job.asIs).
   */
  async run(job: ScoreJob): Promise<void> {
    const { backends, cache, shaper, metrics } = this.deps;
    // One routing decision per request: the cache key below and the backend call both use
    // this group's identity, so a cached row always names the model that computed it.
    const group = backends.route(job.modelStart >= 0 ? job.body.toString('utf8', job.modelStart, job.modelEnd) : null);
    if (group === null) throw new BackendUnavailable('no healthy SGLang backend');
    const info = group.info;
    // Rows computed while the backend's identity changed are not cached under either identity.
    const epoch = backends.identityEpoch;
    // Relayed requests have their own (rarer) path, so that this frame stays small.
    if (job.asIs || (job.kind === 'text' && group.tokenizer !== 'match')) return this.relay(job, group, info);
    const mis = info.mode === 'mis';
    if (job.kind !== 'text') checkIdRange(job, info.vocabSize ?? this.opts.inputVocab);
    if (job.kind === 'text') checkTokenizeWork(job, mis, this.opts.maxTokenizeBytes);
    job.selectAll();
    // Text needs its identity for the token caches too; ids only for the score cache.
    if (job.kind === 'text' || (job.kind === 'ids' && cache.kind !== 'off')) identify(job, this.deps.hasher);
    // Tracing: each stage below becomes a child span of the request's, from timestamps taken
    // only when the job is traced (t0 is 0 otherwise and never read).
    const t = job.trace;
    if (cache.kind !== 'off' && job.n > 0) {
      const t0 = t !== null ? performance.now() : 0;
      computeKeys(job, this.context(info), mis, this.deps.hasher);
      await lookupScores(job, cache);
      if (t !== null) t.stage('cache lookup', t0, performance.now(), { 'scorecar.cache': cache.kind, 'scorecar.cache_hits': job.cacheHits });
      if (job.nActive === 0) {
        job.promptTokens = requestUsage(job, mis);
        return;
      }
    }

    // The cheap admission, before any tokenizing: a full queue or a deadline that cannot be met
    // (estimating tokens from bytes) is refused now instead of after the workers' effort.
    if (job.kind !== 'ids') shaper.precheck(estimateTokens(job), job.deadlineAt, job.priority);
    if (job.kind === 'ids') resolveIds(job);
    else await this.tokenize(job, mis);

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
    const cost = batchBase(job, mis) + itemTokens;
    // Admitted at once (the usual case) without a promise; otherwise queued, or refused, by admit().
    const ticket = shaper.tryAdmit(cost, job.deadlineAt, job.priority, job.scope) ?? (await shaper.admit(cost, job.deadlineAt, job.priority, job.scope));
    job.queueMs = ticket.queuedMs;
    metrics.stage.observe(this.queueSlot, ticket.queuedMs / 1000);
    const started = performance.now();
    if (t !== null) t.stage('shaper queue', started - ticket.queuedMs, started);
    // A deadline that passes in flight cancels the backend call (504 rather than a late answer).
    const remaining = job.deadlineAt - started;
    const timer = Number.isFinite(remaining) ? setTimeout(job.expire, Math.max(0, remaining)) : null;
    let ok = false;
    try {
      const budget = mis
        ? Math.min(this.opts.maxPackTokens ?? Math.min(info.maxReqInputLen, DEFAULT_PACK_TOKENS), info.maxReqInputLen - 1)
        : this.opts.maxCallTokens;
      await this.coalescer.dispatch(job, group, budget, itemTokens);
      ok = true;
    } catch (e) {
      if (e instanceof CancelledError && (job.deadlineFired || performance.now() >= job.deadlineAt)) {
        throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
      }
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      job.backendMs = performance.now() - started;
      shaper.release(ticket, ok ? job.backendMs : undefined);
      metrics.stage.observe(this.backendSlot, job.backendMs / 1000);
      // The coalescing window and the backend call(s) (their own client spans sit beside it).
      if (t !== null) t.stage('dispatch', started, started + job.backendMs, { 'scorecar.items': job.nActive, 'scorecar.ok': ok });
    }
    if (performance.now() > job.deadlineAt) throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
    job.promptTokens = requestUsage(job, mis);
    if (cache.kind !== 'off' && backends.identityEpoch === epoch) {
      const t0 = t !== null ? performance.now() : 0;
      storeScores(job, cache, mis);
      if (t !== null) t.stage('cache store', t0, performance.now());
    }
  }

  /** Token ids for a text or /rank job's misses (token caches, then the workers), in its own frame. */
  private async tokenize(job: ScoreJob, mis: boolean): Promise<void> {
    const t = job.trace;
    const t0 = t !== null ? performance.now() : 0;
    try {
      if (job.kind === 'text') await resolveText(job, this.deps.tokenize, mis);
      else await tokenizeRank(job, job.rankInput!, this.deps.rankTokenize);
    } catch (e) {
      if (e instanceof TokenizerBusy) throw new ShaperRefused('queue-full', 1, job.priority);
      if (e instanceof TokenizeExpired) throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
      throw e;
    }
    this.deps.metrics.stage.observe(this.tokenizeSlot, job.tokenizeMs / 1000);
    if (t !== null) t.stage('tokenize', t0, performance.now(), { 'scorecar.items': job.nActive });
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
