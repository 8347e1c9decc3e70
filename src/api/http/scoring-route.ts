import type { IncomingMessage, ServerResponse } from 'node:http';
import { bufferPool } from '../../mem/buffer-pool.js';
import type { RouteMeter } from '../../metrics/route-meter.js';
import { type Logger, silentLogger } from '../../observe/logger.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import { type RequestTrace, TRACEPARENT, forwardableTraceparent } from '../../observe/tracing.js';
import { type ScoreJob, ScoreJobPool } from '../../pipeline/score-job.js';
import { answerFailure } from './failures.js';

/** The log line a failed request earns: 5xx but 503 (overload, drain: expected, and many) at warn, the rest at debug. */
function failureLevel(code: number): 'warn' | 'debug' {
  return code >= 500 && code !== 503 ? 'warn' : 'debug';
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

  constructor(
    protected readonly meter: RouteMeter,
    protected readonly log: Logger = silentLogger(),
  ) {}

  /**
   * `requestId` goes to the backend call(s) and into log lines; `trace` (tracing on) is the
   * request's server span, which the pipeline hangs its stage spans from.
   */
  async handle(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, requestId = '', trace: RequestTrace | null = null): Promise<number> {
    const started = performance.now();
    const job = this.jobs.acquire();
    job.requestId = requestId;
    job.trace = trace;
    // Tracing off, the client's own traceparent still goes on to SGLang (as passthrough does).
    if (trace === null) job.traceparent = forwardableTraceparent(req.headers[TRACEPARENT]);
    res.on('close', job.scope.cancelAll);
    let code = 200;
    try {
      code = await this.answer(req, res, body, length, job, started);
    } catch (e) {
      if (!res.headersSent && requestId !== '') res.setHeader(REQUEST_ID_HEADER, requestId);
      code = this.fail(res, e);
      const level = failureLevel(code);
      if (this.log.isLevelEnabled(level)) {
        this.log[level]({ reqId: requestId, path: req.url, status: code, err: e instanceof Error ? e.message : String(e) }, 'scoring request failed');
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
    return code;
  }

  protected abstract answer(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, job: ScoreJob, started: number): Promise<number>;

  protected finished(_code: number, _job: ScoreJob, _started: number): void {}

  /** Answers a failure; SGLang's envelope unless the route speaks another API's. */
  protected fail(res: ServerResponse, e: unknown): number {
    return answerFailure(res, e);
  }
}
