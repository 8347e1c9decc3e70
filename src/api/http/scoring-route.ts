import type { HttpReply, HttpRequestView } from './exchange.js';
import { bufferPool } from '../../mem/buffer-pool.js';
import type { RouteMeter } from '../../metrics/route-meter.js';
import { type Logger, silentLogger } from '../../observe/logger.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import { type RequestTrace, TRACEPARENT, forwardableTraceparent } from '../../observe/tracing.js';
import { type ScoreJob, ScoreJobPool } from '../../pipeline/score-job.js';
import { answerFailure } from './failures.js';

/** answer()'s result when the pipeline continues with the exchange's ran/failed, which settle it. */
export const LATER = -1;

/** The log line a failed request earns: 5xx but 503 (overload, drain: expected, and many) at warn, the rest at debug. */
function failureLevel(code: number): 'warn' | 'debug' {
  return code >= 500 && code !== 503 ? 'warn' : 'debug';
}

/**
 * One request in a scoring route, from its body to its answer: what handle() would otherwise keep
 * in an async frame. Reused across requests (the route keeps a free list), with its two
 * continuations bound once, so a request costs one promise reaction here instead of a frame.
 */
export class Exchange {
  req: HttpRequestView | null = null;
  res: HttpReply | null = null;
  body: Buffer | null = null;
  job: ScoreJob | null = null;
  requestId = '';
  trace: RequestTrace | null = null;
  started = 0;
  readonly answered = (code: number): void => this.route.settle(this, code, false, null);
  /** The pipeline's continuation for a route that answers from afterRun, bound once like the two around it. */
  readonly ran = (): void => this.route.ran(this);
  readonly failed = (e: unknown): void => this.route.settle(this, 0, true, e);

  constructor(readonly route: ScoringRoute) {}
}

/**
 * What every scoring route shares: a pooled job whose backend calls end when the client leaves,
 * exactly one answer (failures in SGLang's envelope), the route's bookkeeping, and the body
 * buffer back to its pool. A route supplies `answer`, which scores, writes the response and
 * returns its status, and optionally `finished`, which sees the final status before the job
 * returns to its pool.
 */
export abstract class ScoringRoute {
  private readonly jobs = new ScoreJobPool();
  private readonly exchanges: Exchange[] = [];

  constructor(
    protected readonly meter: RouteMeter,
    protected readonly log: Logger = silentLogger(),
  ) {}

  /**
   * `requestId` goes to the backend call(s) and into log lines; `trace` (tracing on) is the
   * request's server span, which the pipeline hangs its stage spans from. The answer (or the
   * failure) is settled by settle(), once.
   */
  handle(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, requestId = '', trace: RequestTrace | null = null): void {
    const started = performance.now();
    const job = this.jobs.acquire();
    job.requestId = requestId;
    job.trace = trace;
    // Tracing off, the client's own traceparent still goes on to SGLang (as passthrough does).
    if (trace === null) job.traceparent = forwardableTraceparent(req.headers[TRACEPARENT]);
    res.on('close', job.scope.cancelAll);
    const x = this.exchanges.pop() ?? new Exchange(this);
    x.req = req;
    x.res = res;
    x.body = body;
    x.job = job;
    x.requestId = requestId;
    x.trace = trace;
    x.started = started;
    let answer: number | Promise<number>;
    try {
      answer = this.answer(req, res, body, length, job, started, x);
    } catch (e) {
      this.settle(x, 0, true, e);
      return;
    }
    // The pipeline continues with x.ran or x.failed, which settle.
    if (answer === LATER) return;
    // Answered at once (a refusal, an empty request): no promise at all.
    if (typeof answer === 'number') this.settle(x, answer, false, null);
    else answer.then(x.answered, x.failed);
  }

  /** @internal an exchange's answer is written (code), or it failed (e): the bookkeeping, once. */
  settle(x: Exchange, answered: number, threw: boolean, e: unknown): void {
    const req = x.req as HttpRequestView;
    const res = x.res as HttpReply;
    const job = x.job as ScoreJob;
    const { requestId, trace, started } = x;
    const body = x.body as Buffer;
    x.req = null;
    x.res = null;
    x.body = null;
    x.job = null;
    x.trace = null;
    if (this.exchanges.length < 256) this.exchanges.push(x);
    let code = answered;
    try {
      if (threw) {
        if (!res.headersSent && requestId !== '') res.setHeader(REQUEST_ID_HEADER, requestId);
        code = this.fail(res, e);
        const level = failureLevel(code);
        if (this.log.isLevelEnabled(level)) {
          this.log[level]({ reqId: requestId, path: req.url, status: code, err: e instanceof Error ? e.message : String(e) }, 'scoring request failed');
        }
      }
    } finally {
      res.off('close', job.scope.cancelAll);
      if (trace !== null) {
        trace.span.setAttribute('scorecar.items', job.n);
        trace.span.setAttribute('scorecar.cache_hits', job.cacheHits);
      }
      this.finished(code, job, started);
      this.meter.done(code, started);
      this.jobs.release(job);
      bufferPool.release(body);
    }
  }

  /**
   * Scores and writes the response; returns its status, or a promise of it. A route that waits
   * for the pipeline may instead hand it `x.ran` and `x.failed` and return LATER: the answer is
   * then written by afterRun, without a frame or promise of the route's own.
   */
  protected abstract answer(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, job: ScoreJob, started: number, x: Exchange): number | Promise<number>;

  /** @internal what a route does once the pipeline has run, when its answer() continues with x.ran. */
  afterRun(_x: Exchange): number {
    throw new Error(`${this.constructor.name} has no afterRun`);
  }

  /** @internal x's pipeline is done: its answer written by afterRun, then settled. */
  ran(x: Exchange): void {
    let code: number;
    try {
      code = this.afterRun(x);
    } catch (e) {
      this.settle(x, 0, true, e);
      return;
    }
    this.settle(x, code, false, null);
  }

  protected finished(_code: number, _job: ScoreJob, _started: number): void {}

  /** Answers a failure; SGLang's envelope unless the route speaks another API's. */
  protected fail(res: HttpReply, e: unknown): number {
    return answerFailure(res, e);
  }
}
