import { type ServerUnaryCall, type sendUnaryData, status as Status } from '@grpc/grpc-js';
import type { RouteMeter } from '../../metrics/route-meter.js';
import { type ScoreJob, ScoreJobPool } from '../../pipeline/score-job.js';
import type { GrpcAuth } from './auth.js';
import { MalformedMessage } from './messages.js';
import { Unauthenticated, failureStatus, serviceError } from './status.js';

/**
 * What every unary Scorer method shares: a pooled job whose backend calls end when the call is
 * cancelled (or its deadline passes), the API key check, malformed requests, exactly one answer
 * (none when the client has cancelled), and the route's bookkeeping. A method supplies `answer`,
 * which scores and calls back with the response, and optionally `finished`, which sees the final
 * status before the job returns to its pool.
 */
export abstract class UnaryCall<M extends object> {
  private readonly jobs = new ScoreJobPool();

  constructor(
    protected readonly meter: RouteMeter,
    private readonly auth: GrpcAuth,
  ) {}

  /** Bound once: grpc-js calls it as a plain function. */
  readonly handle = (call: ServerUnaryCall<M | MalformedMessage, Buffer>, callback: sendUnaryData<Buffer>): void => {
    void this.serve(call, callback);
  };

  protected abstract answer(msg: M, job: ScoreJob, call: ServerUnaryCall<M | MalformedMessage, Buffer>, callback: sendUnaryData<Buffer>, started: number): Promise<void>;

  protected finished(_code: Status, _job: ScoreJob, _started: number): void {}

  private async serve(call: ServerUnaryCall<M | MalformedMessage, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    const started = performance.now();
    const job = this.jobs.acquire();
    call.once('cancelled', job.scope.cancelAll);
    let code: Status = Status.OK;
    try {
      if (!this.auth.allows(call.metadata)) throw new Unauthenticated();
      const msg = call.request;
      if (msg instanceof MalformedMessage) throw msg;
      await this.answer(msg, job, call, callback, started);
    } catch (e) {
      const f = failureStatus(e, call.cancelled);
      if (f === null) code = Status.CANCELLED;
      else {
        code = f.code;
        callback(serviceError(f));
      }
    } finally {
      call.off('cancelled', job.scope.cancelAll);
      this.finished(code, job, started);
      this.meter.done(code, started);
      this.jobs.release(job);
    }
  }
}
