import { type ServerUnaryCall, type sendUnaryData, status as Status } from '@grpc/grpc-js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import { ScoreJobPool } from '../../pipeline/score-job.js';
import type { GrpcAuth } from './auth.js';
import { MalformedMessage, type ScoreRequestMsg } from './messages.js';
import { ProtoWriter } from './proto-writer.js';
import type { ScoreCore } from './score-core.js';
import { timingMetadata } from './score-core.js';
import { Unauthenticated, failureStatus, serviceError } from './status.js';
import { callRemainingMs } from './urgency.js';

/**
 * Scorer.Score, the unary call: one ScoreRequest, one ScoreResponse with the x-scorecar-* figures
 * as trailing metadata. Counts into the grpc.Score request, item and total-time metrics.
 */
export class ScoreCall {
  private readonly jobs = new ScoreJobPool();
  private readonly writer = new ProtoWriter(16384);
  private readonly meter: RouteMeter;

  constructor(
    private readonly core: ScoreCore,
    metrics: ScorecarMetrics,
    private readonly auth: GrpcAuth,
  ) {
    this.meter = new RouteMeter(metrics, 'grpc.Score');
  }

  /** Bound once: grpc-js calls it as a plain function. */
  readonly handle = (call: ServerUnaryCall<ScoreRequestMsg | MalformedMessage, Buffer>, callback: sendUnaryData<Buffer>): void => {
    void this.serve(call, callback);
  };

  private async serve(call: ServerUnaryCall<ScoreRequestMsg | MalformedMessage, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    const started = performance.now();
    const job = this.jobs.acquire();
    // A client that cancels (or whose deadline passes) cancels the job's backend calls.
    call.once('cancelled', job.scope.cancelAll);
    let code: Status = Status.OK;
    try {
      if (!this.auth.allows(call.metadata)) throw new Unauthenticated();
      const msg = call.request;
      if (msg instanceof MalformedMessage) throw msg;
      await this.core.run(msg, job, callRemainingMs(call.getDeadline()), started);
      const w = this.writer;
      w.reset();
      this.core.write(w, msg, job);
      this.meter.items(job.n);
      callback(null, w.take(), timingMetadata(job, job.n, performance.now() - started));
    } catch (e) {
      const f = failureStatus(e, call.cancelled);
      if (f === null) code = Status.CANCELLED;
      else {
        code = f.code;
        callback(serviceError(f));
      }
    } finally {
      call.off('cancelled', job.scope.cancelAll);
      this.meter.done(code, started);
      this.jobs.release(job);
    }
  }
}
