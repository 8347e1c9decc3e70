import type { BackendSet } from '../backend/backend-set.js';
import { BackendUnavailable } from '../backend/errors.js';
import type { ScorecarMetrics } from '../metrics/registry.js';
import { type PackObserver, dispatchPacks } from './dispatch-stage.js';
import { planPacks } from './pack-stage.js';
import type { ScoreJob } from './score-job.js';
import { type TokenizeDeps, resolveIds, resolveText } from './tokenize-stage.js';

export interface PipelineOptions {
  /** MIS pack budget; null = min(backend max_req_input_len, 8192). */
  maxPackTokens: number | null;
  /** Single-item mode: the most prompt tokens one backend call carries. */
  maxCallTokens: number;
}

const DEFAULT_PACK_TOKENS = 8192;

/**
 * The scoring path: resolve token ids (caches, then workers), pack by the backend's protocol and
 * budget, dispatch, and leave score rows on the job in item order. It knows neither HTTP nor
 * gRPC, nor SGLang's wire format (backend/ does).
 */
export class ScorePipeline {
  private readonly tokenizeSlot: number;
  private readonly backendSlot: number;
  private readonly packObserver: PackObserver;

  constructor(
    private readonly tokenize: TokenizeDeps,
    private readonly backends: BackendSet,
    private readonly metrics: ScorecarMetrics,
    private readonly opts: PipelineOptions,
  ) {
    this.tokenizeSlot = metrics.stage.slot('tokenize');
    this.backendSlot = metrics.stage.slot('backend');
    const { packs, packItems, packTokens } = metrics;
    const slots = { mis: packs.slot('mis'), single: packs.slot('single') };
    this.packObserver = (mode, items, tokens) => {
      packs.inc(slots[mode]);
      packItems.observe(0, items);
      packTokens.observe(0, tokens);
    };
  }

  /** The served model, as /rank reports it. */
  modelName(): string {
    return this.backends.pick()?.info?.modelPath ?? 'unknown';
  }

  /**
   * Scores a job. When the backend's tokenizer differs from scorecar's, text cannot be turned
   * into the ids SGLang would produce, so the original body is relayed instead (job.relay).
   */
  async run(job: ScoreJob): Promise<void> {
    const backend = this.backends.pick();
    if (backend === null || backend.info === null) throw new BackendUnavailable('no healthy SGLang backend');
    const info = backend.info;
    if (job.kind === 'text' && backend.tokenizer !== 'match') {
      const reply = await backend.post('/v1/score', job.body.subarray(0, job.bodyLength), job.scope);
      job.held.push(reply.body);
      job.relay = reply;
      return;
    }
    const mis = info.mode === 'mis';
    if (job.kind === 'ids') resolveIds(job);
    else {
      await resolveText(job, this.tokenize, mis);
      this.metrics.stage.observe(this.tokenizeSlot, job.tokenizeMs / 1000);
    }
    const budget = mis
      ? Math.min(this.opts.maxPackTokens ?? Math.min(info.maxReqInputLen, DEFAULT_PACK_TOKENS), info.maxReqInputLen - 1)
      : this.opts.maxCallTokens;
    planPacks(job, mis, budget);
    await dispatchPacks(job, this.backends, info.mode, this.packObserver);
    this.metrics.stage.observe(this.backendSlot, job.backendMs / 1000);
  }
}

