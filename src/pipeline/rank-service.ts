import { parseRow } from '../mem/parse-double.js';
import type { RankInput, RankRequest } from './rank-input.js';
import { identifyRank } from './rank-stage.js';
import type { ScoreJob } from './score-job.js';
import type { ScorePipeline } from './score-pipeline.js';

export interface RankOutcome {
  /** Scored candidates, best first (top_k of them): indices into the request's items. */
  order: Int32Array;
  /** P(yes) per request item index (NaN for unscored ones). */
  scores: Float64Array;
  /** Whether item i's score came from the score cache. */
  cached: Uint8Array;
  /** How many candidates were scored (the depth used). */
  depth: number;
  cacheHits: number;
  model: string;
}

/**
 * /rank over the scoring pipeline: the first D candidates (D from the request or the depth
 * controller) are scored — cached scores where present — and returned best first; the rest keep
 * their retrieval order. Shared by HTTP and gRPC.
 */
export class RankService {
  constructor(
    private readonly pipeline: ScorePipeline,
    private readonly depth: () => number,
  ) {}

  /** Scores the first `depth` items of `input` (P(yes) each, cached flags) on the pipeline. */
  async score(input: RankInput, depth: number, job: ScoreJob): Promise<{ scores: Float64Array; cached: Uint8Array }> {
    const n = input.items.length;
    identifyRank(job, input, depth, this.pipeline.hasher);
    job.rankInput = input;
    await this.pipeline.run(job);
    const scores = new Float64Array(n).fill(Number.NaN);
    const cached = new Uint8Array(n);
    const row = new Float64Array(2);
    for (let i = 0; i < depth; i++) {
      parseRow(job.rowBuf[i] as Buffer, job.rowStart[i] as number, job.rowEnd[i] as number, row, 0);
      scores[i] = row[0] as number;
      cached[i] = job.cachedRow(i) ? 1 : 0;
    }
    return { scores, cached };
  }

  modelName(): string {
    return this.pipeline.modelName();
  }

  async rank(req: RankRequest, job: ScoreJob): Promise<RankOutcome> {
    const n = req.items.length;
    const depth = Math.min(n, req.depth ?? this.depth());
    const { scores, cached } = await this.score({ query: req.query, items: req.items, template: req.template, maxTokensPerItem: req.maxTokensPerItem }, depth, job);
    const idx = Array.from({ length: depth }, (_, i) => i);
    // Best first; equal scores keep retrieval order (Array.prototype.sort is stable).
    idx.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    const k = Math.min(depth, req.topK ?? depth);
    return {
      order: Int32Array.from(idx.slice(0, k)),
      scores,
      cached,
      depth,
      cacheHits: job.cacheHits,
      model: this.pipeline.modelName(),
    };
  }
}
