import { Metadata, type ServerDuplexStream, status as Status } from '@grpc/grpc-js';
import { type Observe, quietObserve } from '../../observe/observe.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import { TRACEPARENT, forwardableTraceparent } from '../../observe/tracing.js';
import { metadataString } from './unary-call.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import { type ScoreJob, ScoreJobPool } from '../../pipeline/score-job.js';
import type { GrpcAuth } from './auth.js';
import { MalformedMessage, type ScoreStreamRequestMsg } from './messages.js';
import { ProtoWriter } from './proto-writer.js';
import { writeScoreError, writeTiming } from './responses.js';
import type { ScoreCore } from './score-core.js';
import { type GrpcFailure, GrpcRequestError, Unauthenticated, failureStatus, serviceError } from './status.js';
import { callRemainingMs } from './urgency.js';

type Stream = ServerDuplexStream<ScoreStreamRequestMsg | MalformedMessage, Buffer>;

export interface StreamLimits {
  /** ScoreStream calls open at once; one more is ended RESOURCE_EXHAUSTED at once. */
  maxStreams: number;
  /**
   * Requests one stream may have in flight (being scored, or answered but not yet taken by the
   * transport). At the limit the stream stops reading (HTTP/2 flow control holds the client
   * back); a request that arrives anyway is answered RESOURCE_EXHAUSTED, and the stream goes on.
   */
  maxInFlight: number;
}

/** One open ScoreStream: its requests in flight and whether the client has finished sending. */
class StreamState {
  readonly jobs = new Set<ScoreJob>();
  halfClosed = false;
  gone = false;

  constructor(
    readonly call: Stream,
    /** The stream's x-request-id; each request on it is `<id>/<request id>`. */
    readonly requestId: string,
    /** The client's traceparent, forwarded with each request's backend calls. */
    readonly traceparent: string | null,
  ) {}

  /** Queued answers plus requests still being scored. */
  get load(): number {
    return this.jobs.size + this.call.writableLength;
  }
}

/**
 * Scorer.ScoreStream: each request is scored as soon as it arrives, concurrently with the
 * others, and answered as soon as it is done (so out of order), tagged with the client's id. A
 * failed request is answered with a ScoreError and the stream goes on; the stream ends OK once the
 * client has half-closed and every request has been answered.
 */
export class StreamCall {
  private readonly pool = new ScoreJobPool();
  private readonly writer = new ProtoWriter(16384);
  private readonly meter: RouteMeter;
  private open = 0;

  constructor(
    private readonly core: ScoreCore,
    metrics: ScorecarMetrics,
    private readonly auth: GrpcAuth,
    private readonly limits: StreamLimits,
    private readonly observe: Observe = quietObserve(),
  ) {
    this.meter = new RouteMeter(metrics, 'grpc.ScoreStream');
  }

  readonly handle = (call: Stream): void => {
    if (!this.auth.allows(call.metadata)) {
      call.emit('error', serviceError(failureStatus(new Unauthenticated()) as GrpcFailure));
      return;
    }
    if (this.open >= this.limits.maxStreams) {
      call.emit(
        'error',
        serviceError({ code: Status.RESOURCE_EXHAUSTED, details: `too many ScoreStream calls open (${this.limits.maxStreams}; scorecar --grpc-max-streams)`, retryAfterS: 1 }),
      );
      return;
    }
    this.open++;
    // One id for the stream, returned in its initial metadata; not traced per message (a stream
    // may carry millions), but the client's traceparent still goes on to SGLang.
    const rid = this.observe.ids.accept(metadataString(call.metadata, REQUEST_ID_HEADER));
    const md = new Metadata();
    md.set(REQUEST_ID_HEADER, rid);
    call.sendMetadata(md);
    const s = new StreamState(call, rid, forwardableTraceparent(metadataString(call.metadata, TRACEPARENT)));
    // Counted out once, however the call ends.
    let counted = true;
    const leave = (): void => {
      if (counted) {
        counted = false;
        this.open--;
      }
    };
    call.once('close', leave);
    call.once('finish', leave);
    call.once('cancelled', leave);
    call.on('data', (m: ScoreStreamRequestMsg | MalformedMessage) => this.onRequest(s, m));
    call.on('end', () => {
      s.halfClosed = true;
      this.maybeFinish(s);
    });
    call.on('drain', () => this.maybeResume(s));
    call.on('cancelled', () => {
      s.gone = true;
      for (const job of s.jobs) job.scope.cancelAll();
    });
  };

  private onRequest(s: StreamState, m: ScoreStreamRequestMsg | MalformedMessage): void {
    if (s.gone) return;
    if (m instanceof MalformedMessage) {
      // The id cannot be read, so nothing can be answered: the stream ends as a whole.
      s.gone = true;
      for (const job of s.jobs) job.scope.cancelAll();
      s.call.emit('error', serviceError({ code: Status.INVALID_ARGUMENT, details: m.message, retryAfterS: null }));
      return;
    }
    const max = this.limits.maxInFlight;
    if (s.jobs.size >= max) {
      // Over the limit despite the pause: answered at once, without scoring.
      const w = this.writer;
      w.reset();
      w.uint32(1, m.id ?? 0);
      writeScoreError(w, 3, Status.RESOURCE_EXHAUSTED, `too many requests in flight on this stream (${max}; scorecar --grpc-stream-max-inflight)`, 1);
      s.call.write(w.take());
      this.meter.done(Status.RESOURCE_EXHAUSTED, performance.now());
      return;
    }
    const job = this.pool.acquire();
    job.requestId = `${s.requestId}/${m.id ?? 0}`;
    job.traceparent = s.traceparent;
    s.jobs.add(job);
    if (s.load >= max) s.call.pause();
    void this.score(s, m, job);
  }

  private async score(s: StreamState, m: ScoreStreamRequestMsg, job: ScoreJob): Promise<void> {
    const started = performance.now();
    const id = m.id ?? 0;
    const w = this.writer;
    let code: Status = Status.OK;
    try {
      const req = m.request;
      if (!req) throw new GrpcRequestError('ScoreStreamRequest.request is required');
      // The stream's deadline bounds every request on it; deadline_ms may set a shorter one.
      await this.core.run(req, job, callRemainingMs(s.call.getDeadline()), started);
      if (s.gone) {
        code = Status.CANCELLED;
        return;
      }
      w.reset();
      w.uint32(1, id);
      const r = w.begin(2);
      this.core.write(w, req, job);
      w.end(r);
      writeTiming(w, 4, job, performance.now() - started);
      this.meter.items(job.n);
      s.call.write(w.take());
    } catch (e) {
      const f = failureStatus(e, s.gone);
      if (f === null || s.gone) code = Status.CANCELLED;
      else {
        code = f.code;
        w.reset();
        w.uint32(1, id);
        writeScoreError(w, 3, f.code, f.details, f.retryAfterS);
        s.call.write(w.take());
      }
    } finally {
      this.meter.done(code, started);
      s.jobs.delete(job);
      this.pool.release(job);
      this.maybeResume(s);
      this.maybeFinish(s);
    }
  }

  private maybeResume(s: StreamState): void {
    if (!s.gone && s.call.isPaused() && s.load < this.limits.maxInFlight / 2) s.call.resume();
  }

  private maybeFinish(s: StreamState): void {
    if (s.halfClosed && s.jobs.size === 0 && !s.gone) {
      s.gone = true;
      s.call.end();
    }
  }
}
