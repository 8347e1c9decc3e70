import type { BackendSet } from '../backend/backend-set.js';
import { BackendUnavailable } from '../backend/errors.js';
import type { BackendInfo, ScoringMode } from '../backend/server-info.js';
import type { ScoreCache } from '../cache/score-cache.js';
import { DeadlineExceededInFlight } from '../control/shaper-errors.js';
import type { TrafficShaper } from '../control/traffic-shaper.js';
import { CancelledError } from '../mem/cancel-scope.js';
import type { ScorecarMetrics } from '../metrics/registry.js';
import { batchBase, itemCost } from './batch.js';
import type { KeyedHash } from '../mem/keyed-hash.js';
import { type CacheContext, backendContext, computeKeys, identify, lookupScores, storeScores } from './cache-stage.js';
import { Coalescer } from './coalescer.js';
import { requestUsage } from './usage.js';
import { type PackObserver, sendBatch } from './dispatch-stage.js';
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
  readonly coalescer: Coalescer;
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
    this.coalescer = new Coalescer(opts.coalesceWindowMs, (batches, mode) =>
      Promise.allSettled(batches.map((b) => sendBatch(b, deps.backends, mode, this.packObserver))),
    );
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
    const backend = backends.pick();
    if (backend === null || backend.info === null) throw new BackendUnavailable('no healthy SGLang backend');
    const info = backend.info;
    // Rows computed while the backend's identity changed are not cached under either identity.
    const epoch = backends.identityEpoch;
    if (job.asIs || (job.kind === 'text' && backend.tokenizer !== 'match')) {
      const request = job.rawRequest !== null ? job.rawRequest.subarray(0, job.rawLength) : job.body.subarray(0, job.bodyLength);
      // Relayed requests take their share of the backend's budget like any other: their tokens
      // are unknown, so a bound from their size stands in (a token is at least a byte of text,
      // and an id takes at least two bytes of JSON).
      const ticket = await shaper.admit(Math.ceil(request.length / 2), job.deadlineAt, job.priority, job.scope);
      job.queueMs = ticket.queuedMs;
      let ok = false;
      const started = performance.now();
      try {
        // The reply's pooled buffer goes with job.relay: whoever sends it releases it once the
        // bytes are written (the job releases it on reset if nobody took it).
        job.relay = await backend.post('/v1/score', request, job.scope);
        ok = true;
      } finally {
        job.backendMs = performance.now() - started;
        shaper.release(ticket, ok ? job.backendMs : undefined);
      }
      return;
    }
    const mis = info.mode === 'mis';
    job.selectAll();
    // Text needs its identity for the token caches too; ids only for the score cache.
    if (job.kind === 'text' || (job.kind === 'ids' && cache.kind !== 'off')) identify(job, this.deps.hasher);
    if (cache.kind !== 'off' && job.n > 0) {
      computeKeys(job, this.context(info), mis, this.deps.hasher);
      await lookupScores(job, cache);
      if (job.nActive === 0) {
        job.promptTokens = requestUsage(job, mis);
        return;
      }
    }

    if (job.kind === 'ids') resolveIds(job);
    else {
      if (job.kind === 'text') await resolveText(job, this.deps.tokenize, mis);
      else await tokenizeRank(job, job.rankInput!, this.deps.rankTokenize);
      metrics.stage.observe(this.tokenizeSlot, job.tokenizeMs / 1000);
    }

    let itemTokens = 0;
    for (let k = 0; k < job.nActive; k++) itemTokens += itemCost(job, job.active[k] as number, mis);
    const ticket = await shaper.admit(batchBase(job, mis) + itemTokens, job.deadlineAt, job.priority, job.scope);
    job.queueMs = ticket.queuedMs;
    metrics.stage.observe(this.queueSlot, ticket.queuedMs / 1000);
    const started = performance.now();
    // A deadline that passes in flight cancels the backend call (504 rather than a late answer).
    const remaining = job.deadlineAt - started;
    const timer = Number.isFinite(remaining) ? setTimeout(job.expire, Math.max(0, remaining)) : null;
    let ok = false;
    try {
      const budget = mis
        ? Math.min(this.opts.maxPackTokens ?? Math.min(info.maxReqInputLen, DEFAULT_PACK_TOKENS), info.maxReqInputLen - 1)
        : this.opts.maxCallTokens;
      await this.coalescer.dispatch(job, info.mode, budget, itemTokens);
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
    }
    if (performance.now() > job.deadlineAt) throw new DeadlineExceededInFlight(performance.now() - job.deadlineAt);
    job.promptTokens = requestUsage(job, mis);
    if (cache.kind !== 'off' && backends.identityEpoch === epoch) storeScores(job, cache, mis);
  }
}
