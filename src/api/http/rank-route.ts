import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DepthController } from '../../control/depth-controller.js';
import { bufferPool } from '../../mem/buffer-pool.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import type { RankService } from '../../pipeline/rank-service.js';
import { ScoreJobPool } from '../../pipeline/score-job.js';
import { CONTENT_TYPE_MESSAGE, isSglangJsonContentType } from '../../sglang/content-type.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { jsonInvalidMessage } from '../../sglang/score-schema.js';
import { ScoreError } from '../../pipeline/errors.js';
import { parseRankRequest } from '../rank-request.js';
import { type RequestDefaults, applyUrgency, deadlineHeader } from '../request-options.js';
import { answerFailure } from './failures.js';

export interface RankRouteOptions extends RequestDefaults {
  maxItems: number;
  /** What the depth controller holds at target: end-to-end latency or shaper queue delay. */
  depthSignal: 'latency' | 'queue-delay';
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * POST /rank, scorecar's own API (design.md §3): the first D candidates scored (cache first),
 * best first, the rest in retrieval order. Latency feeds the depth controller.
 */
export class RankRoute {
  private readonly jobs = new ScoreJobPool();
  private readonly meter: RouteMeter;

  constructor(
    private readonly service: RankService,
    metrics: ScorecarMetrics,
    private readonly depth: DepthController,
    private readonly opts: RankRouteOptions,
  ) {
    this.meter = new RouteMeter(metrics, '/rank');
  }

  async handle(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number): Promise<void> {
    const started = performance.now();
    const job = this.jobs.acquire();
    res.on('close', job.scope.cancelAll);
    let code = 200;
    try {
      if (!isSglangJsonContentType(req.headers['content-type'])) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
      let value: unknown;
      try {
        value = JSON.parse(fatalUtf8.decode(body.subarray(0, length)));
      } catch (e) {
        const pos = /position (\d+)/.exec(String(e))?.[1];
        throw new ScoreError(400, jsonInvalidMessage(pos ? Number(pos) : 0), TYPE_VALIDATION);
      }
      const request = parseRankRequest(value, this.opts.maxItems);
      const pr = req.headers['x-scorecar-priority'];
      applyUrgency(
        job,
        request.deadlineMs ?? deadlineHeader(req.headers['x-scorecar-deadline-ms']),
        request.priority ?? (Array.isArray(pr) ? (pr[0] ?? null) : (pr ?? null)),
        this.opts,
        started,
      );
      const out = await this.service.rank(request, job);
      const results = Array.from(out.order, (i) => ({ id: request.items[i]!.id, score: out.scores[i], cached: out.cached[i] === 1 }));
      const unscored = request.items.slice(out.depth).map((it) => it.id);
      const json = JSON.stringify({ results, unscored, depth: out.depth, cache_hits: out.cacheHits, model: out.model });
      this.meter.items(out.depth);
      if (!res.headersSent && !res.destroyed) {
        const buf = Buffer.from(json);
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': buf.length,
          'x-scorecar-items': String(out.depth),
          'x-scorecar-cache-hits': String(out.cacheHits),
          'x-scorecar-tokenize-ms': job.tokenizeMs.toFixed(3),
          'x-scorecar-queue-ms': job.queueMs.toFixed(3),
          'x-scorecar-backend-ms': job.backendMs.toFixed(3),
          'x-scorecar-depth': String(out.depth),
        });
        res.end(buf);
      }
    } catch (e) {
      code = answerFailure(res, e);
    } finally {
      res.off('close', job.scope.cancelAll);
      const ms = performance.now() - started;
      if (code === 200) this.depth.observe(this.opts.depthSignal === 'latency' ? ms : job.queueMs, performance.now());
      this.meter.done(code, started);
      this.jobs.release(job);
      bufferPool.release(body);
    }
  }
}
