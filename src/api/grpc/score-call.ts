import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import type { Observe } from '../../observe/observe.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import type { GrpcAuth } from './auth.js';
import type { MalformedMessage, ScoreRequestMsg } from './messages.js';
import { ProtoWriter } from './proto-writer.js';
import type { ScoreCore } from './score-core.js';
import { timingMetadata } from './score-core.js';
import { UnaryCall } from './unary-call.js';
import { callRemainingMs } from './urgency.js';

/**
 * Scorer.Score, the unary call: one ScoreRequest, one ScoreResponse with the x-scorecar-* figures
 * as trailing metadata. Counts into the grpc.Score request, item and total-time metrics.
 */
export class ScoreCall extends UnaryCall<ScoreRequestMsg> {
  private readonly writer = new ProtoWriter(16384);

  constructor(
    private readonly core: ScoreCore,
    metrics: ScorecarMetrics,
    auth: GrpcAuth,
    observe?: Observe,
  ) {
    super(new RouteMeter(metrics, 'grpc.Score'), auth, observe, 'Score');
  }

  protected async answer(
    msg: ScoreRequestMsg,
    job: ScoreJob,
    call: ServerUnaryCall<ScoreRequestMsg | MalformedMessage, Buffer>,
    callback: sendUnaryData<Buffer>,
    started: number,
  ): Promise<void> {
    await this.core.run(msg, job, callRemainingMs(call.getDeadline()), started);
    const w = this.writer;
    w.reset();
    this.core.write(w, msg, job);
    this.meter.items(job.n);
    callback(null, w.take(), timingMetadata(job, job.n, performance.now() - started));
  }
}
