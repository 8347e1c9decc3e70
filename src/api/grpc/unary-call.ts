import { Metadata, type ServerUnaryCall, type sendUnaryData, status as Status } from '@grpc/grpc-js';
import { type Observe, quietObserve } from '../../observe/observe.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import { TRACEPARENT, TRACESTATE, type RequestTrace, forwardableTraceparent } from '../../observe/tracing.js';
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
    protected readonly observe: Observe = quietObserve(),
    private readonly method = 'Score',
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
    // x-request-id: the client's (valid) or a new one, back to the client in the initial
    // metadata (so failures carry it too) and on to SGLang with the job's calls.
    const { ids, tracing, log } = this.observe;
    const rid = ids.accept(metadataString(call.metadata, REQUEST_ID_HEADER));
    const md = new Metadata();
    md.set(REQUEST_ID_HEADER, rid);
    call.sendMetadata(md);
    job.requestId = rid;
    let trace: RequestTrace | null = null;
    if (tracing !== null) {
      const headers = { [TRACEPARENT]: metadataString(call.metadata, TRACEPARENT), [TRACESTATE]: metadataString(call.metadata, TRACESTATE) };
      trace = tracing.startRequest(`scorecar.v1.Scorer/${this.method}`, headers, started, {
        'rpc.system': 'grpc',
        'rpc.service': 'scorecar.v1.Scorer',
        'rpc.method': this.method,
        'scorecar.request_id': rid,
      });
      job.trace = trace;
    }
    if (trace === null) job.traceparent = forwardableTraceparent(metadataString(call.metadata, TRACEPARENT));
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
      const level = code === Status.INTERNAL || code === Status.UNKNOWN || code === Status.DEADLINE_EXCEEDED ? 'warn' : 'debug';
      if (log.isLevelEnabled(level)) log[level]({ reqId: rid, method: this.method, grpcStatus: code, err: e instanceof Error ? e.message : String(e) }, 'gRPC call failed');
    } finally {
      if (trace !== null) {
        trace.span.setAttribute('rpc.grpc.status_code', code);
        trace.span.setAttribute('scorecar.items', job.n);
        trace.end(0, performance.now(), code !== Status.OK && code !== Status.CANCELLED);
      }
      if (this.observe.access) log.debug({ reqId: rid, method: this.method, grpcStatus: code, ms: +(performance.now() - started).toFixed(3) }, 'gRPC call');
      call.off('cancelled', job.scope.cancelAll);
      this.finished(code, job, started);
      this.meter.done(code, started);
      this.jobs.release(job);
    }
  }
}

/** A metadata value as a string (the first, when repeated); binary or absent: undefined. */
export function metadataString(md: Metadata, key: string): string | undefined {
  const v = md.get(key);
  const first = v[0];
  return typeof first === 'string' ? first : undefined;
}
