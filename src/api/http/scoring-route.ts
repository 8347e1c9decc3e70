import type { IncomingMessage, ServerResponse } from 'node:http';
import { bufferPool } from '../../mem/buffer-pool.js';
import type { RouteMeter } from '../../metrics/route-meter.js';
import { type ScoreJob, ScoreJobPool } from '../../pipeline/score-job.js';
import { answerFailure } from './failures.js';

/**
 * What every scoring route shares: a pooled job whose backend calls end when the client leaves,
 * exactly one answer (failures in SGLang's envelope), the route's bookkeeping, and the body
 * buffer back to its pool. A route supplies `answer`, which scores, writes the response and
 * returns its status, and optionally `finished`, which sees the final status before the job
 * returns to its pool.
 */
export abstract class ScoringRoute {
  private readonly jobs = new ScoreJobPool();

  constructor(protected readonly meter: RouteMeter) {}

  async handle(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number): Promise<void> {
    const started = performance.now();
    const job = this.jobs.acquire();
    res.on('close', job.scope.cancelAll);
    let code = 200;
    try {
      code = await this.answer(req, res, body, length, job, started);
    } catch (e) {
      code = this.fail(res, e);
    } finally {
      res.off('close', job.scope.cancelAll);
      this.finished(code, job, started);
      this.meter.done(code, started);
      this.jobs.release(job);
      bufferPool.release(body);
    }
  }

  protected abstract answer(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, job: ScoreJob, started: number): Promise<number>;

  protected finished(_code: number, _job: ScoreJob, _started: number): void {}

  /** Answers a failure; SGLang's envelope unless the route speaks another API's. */
  protected fail(res: ServerResponse, e: unknown): number {
    return answerFailure(res, e);
  }
}
