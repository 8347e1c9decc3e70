import { Metadata } from '@grpc/grpc-js';
import { UpstreamError } from '../../backend/errors.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import type { ScorePipeline } from '../../pipeline/score-pipeline.js';
import { setTimingHeaders } from '../timing-headers.js';
import type { ScoreRequestMsg } from './messages.js';
import type { ProtoWriter } from './proto-writer.js';
import { readJobScores, readJsonScores, writeScoreResponse } from './responses.js';
import { type ScoreRequestLimits, prepareScoreJob } from './score-request.js';

const DEFAULT_MODEL = 'default';

/**
 * One Score request through the pipeline, shared by the unary call and the stream: the request
 * becomes a job, the job is scored like any HTTP /v1/score job, and the answer is written as a
 * ScoreResponse. The API layer only translates.
 */
export class ScoreCore {
  constructor(
    private readonly pipeline: ScorePipeline,
    readonly limits: ScoreRequestLimits,
  ) {}

  async run(msg: ScoreRequestMsg, job: ScoreJob, callMs: number | null, started: number): Promise<void> {
    if (prepareScoreJob(msg, job, this.limits, callMs, started)) await this.pipeline.run(job);
  }

  /** Writes the ScoreResponse of a job that run() finished (throws for a relayed error). */
  write(w: ProtoWriter, msg: ScoreRequestMsg, job: ScoreJob): void {
    const nLabels = msg.labelTokenIds?.length ?? 0;
    const model = msg.model ? msg.model : DEFAULT_MODEL;
    const relay = job.relay;
    if (relay === null) {
      writeScoreResponse(w, job.n > 0 ? readJobScores(job) : 0, nLabels, model, Math.max(0, job.promptTokens));
      return;
    }
    // The backend tokenizes differently, so it was sent the request as text: its JSON answer is
    // translated here (rare, so JSON.parse is fine).
    const body = relay.body.subarray(0, relay.length);
    // A copy: the error outlives the job, whose reset returns the pooled reply buffer.
    if (relay.status !== 200) throw new UpstreamError(relay.status, Buffer.from(body), relay.contentType);
    const v = JSON.parse(body.toString('utf8')) as { scores?: unknown; usage?: { prompt_tokens?: unknown } };
    const tokens = typeof v.usage?.prompt_tokens === 'number' ? v.usage.prompt_tokens : 0;
    writeScoreResponse(w, readJsonScores(v.scores, nLabels), nLabels, model, tokens);
  }
}

/** The x-scorecar-* figures as trailing metadata, named and formatted as the HTTP headers. */
export function timingMetadata(job: ScoreJob, items: number, totalMs: number): Metadata {
  const m = new Metadata();
  const h = setTimingHeaders<Record<string, string>>({}, job, items, totalMs);
  for (const k in h) m.set(k, String(h[k]));
  return m;
}
