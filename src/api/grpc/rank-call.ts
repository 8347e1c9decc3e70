import { type ServerUnaryCall, type sendUnaryData, status as Status } from '@grpc/grpc-js';
import type { DepthController } from '../../control/depth-controller.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import type { Observe } from '../../observe/observe.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import type { RankService } from '../../pipeline/rank-service.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { parseRankRequest } from '../rank-request.js';
import { type RequestDefaults, applyUrgency } from '../request-options.js';
import type { GrpcAuth } from './auth.js';
import type { JobFieldsMsg, MalformedMessage, RankItemMsg, RankRequestMsg } from './messages.js';
import { ProtoWriter } from './proto-writer.js';
import { writeRankResponse } from './responses.js';
import { timingMetadata } from './score-core.js';
import { UnaryCall } from './unary-call.js';
import { callRemainingMs, priorityName, requestDeadlineMs } from './urgency.js';

export interface RankCallOptions extends RequestDefaults {
  maxItems: number;
  /** What the depth controller holds at target: end-to-end latency or shaper queue delay. */
  depthSignal: 'latency' | 'queue-delay';
}

/** Structured fields as /rank's JSON has them: proto3 empty strings are fields not given. */
function fieldsValue(f: JobFieldsMsg): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.title) out.title = f.title;
  if (f.company) out.company = f.company;
  if (f.location) out.location = f.location;
  if (f.employmentType) out.employment_type = f.employmentType;
  if (f.remote === 'remoteText') out.remote = f.remoteText;
  else if (f.remote === 'remoteFlag') out.remote = f.remoteFlag;
  if (f.description) out.description = f.description;
  return out;
}

function itemValue(it: RankItemMsg): Record<string, unknown> {
  if (it.body === 'text') return { id: it.id, text: it.text };
  if (it.body === 'ids') return { id: it.id, ids: it.ids.ids ?? [] };
  if (it.body === 'fields') return { id: it.id, fields: fieldsValue(it.fields) };
  return { id: it.id };
}

/**
 * A RankRequest as the /rank JSON body it stands for, so that parseRankRequest validates both
 * APIs alike (same rules, same messages). Urgency is applied separately: it combines the
 * request's fields with the call's gRPC deadline.
 */
export function rankValue(msg: RankRequestMsg): Record<string, unknown> {
  return {
    query: msg.query === 'queryText' ? msg.queryText : msg.query === 'queryIds' ? (msg.queryIds.ids ?? []) : undefined,
    items: (msg.items ?? []).map(itemValue),
    template: msg.template ? msg.template : undefined,
    top_k: msg.topK ? msg.topK : undefined,
    depth: msg.depth ? msg.depth : undefined,
  };
}

/**
 * Scorer.Rank: scorecar's /rank over the same RankService, with the response written without an
 * object per candidate. Latency feeds the depth controller, as HTTP /rank's does.
 */
export class RankCall extends UnaryCall<RankRequestMsg> {
  private readonly writer = new ProtoWriter(16384);

  constructor(
    private readonly service: RankService,
    metrics: ScorecarMetrics,
    private readonly depth: DepthController,
    auth: GrpcAuth,
    private readonly opts: RankCallOptions,
    observe?: Observe,
  ) {
    super(new RouteMeter(metrics, 'grpc.Rank'), auth, observe, 'Rank');
  }

  protected async answer(
    msg: RankRequestMsg,
    job: ScoreJob,
    call: ServerUnaryCall<RankRequestMsg | MalformedMessage, Buffer>,
    callback: sendUnaryData<Buffer>,
    started: number,
  ): Promise<void> {
    const request = parseRankRequest(rankValue(msg), this.opts.maxItems);
    const deadline = requestDeadlineMs(msg.deadlineMs ?? 0, callRemainingMs(call.getDeadline()));
    applyUrgency(job, deadline, priorityName(msg.priority), this.opts, started);
    const out = await this.service.rank(request, job);
    const w = this.writer;
    w.reset();
    writeRankResponse(w, request.items, out.order, out.scores, out.cached, out.depth, out.cacheHits, out.model);
    this.meter.items(out.depth);
    const trailer = timingMetadata(job, out.depth, performance.now() - started);
    trailer.set('x-scorecar-depth', String(out.depth));
    callback(null, w.take(), trailer);
  }

  /** Answered calls feed the depth controller, as HTTP /rank's do. */
  protected override finished(code: Status, job: ScoreJob, started: number): void {
    if (code !== Status.OK) return;
    const ms = performance.now() - started;
    this.depth.observe(this.opts.depthSignal === 'latency' ? ms : job.queueMs, performance.now());
  }
}
