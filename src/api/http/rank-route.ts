import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../observe/logger.js';
import type { DepthController } from '../../control/depth-controller.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import type { RankService } from '../../pipeline/rank-service.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { CONTENT_TYPE_MESSAGE, isSglangJsonContentType } from '../../sglang/content-type.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { jsonInvalidMessage } from '../../sglang/score-schema.js';
import { ScoreError } from '../../pipeline/errors.js';
import { parseRankRequest } from '../rank-request.js';
import { prescanJson, prescanLimitsFor } from '../../mem/json-prescan.js';
import { prescanRefusal } from '../limits.js';
import { type RequestDefaults, applyUrgency, deadlineHeader, priorityHeader } from '../request-options.js';
import { ScoringRoute } from './scoring-route.js';

export interface RankRouteOptions extends RequestDefaults {
  /** Where failed requests are logged (observe/logger.ts); default: nowhere. */
  log?: Logger;
  maxItems: number;
  /** What the depth controller holds at target: end-to-end latency or shaper queue delay. */
  depthSignal: 'latency' | 'queue-delay';
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * POST /rank, scorecar's own API (design.md §3): the first D candidates scored (cache first),
 * best first, the rest in retrieval order. Latency feeds the depth controller.
 */
export class RankRoute extends ScoringRoute {
  constructor(
    private readonly service: RankService,
    metrics: ScorecarMetrics,
    private readonly depth: DepthController,
    private readonly opts: RankRouteOptions,
  ) {
    super(new RouteMeter(metrics, '/rank'), opts.log);
  }

  protected async answer(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, job: ScoreJob, started: number): Promise<number> {
    if (!isSglangJsonContentType(req.headers['content-type'])) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
    // Counted and bounded before JSON.parse builds anything (items, nesting, values).
    const limits = prescanLimitsFor(this.opts.maxItems);
    const refusal = prescanRefusal(prescanJson(body, length, limits), this.opts.maxItems, limits.maxDepth);
    if (refusal !== null) throw refusal;
    let value: unknown;
    try {
      value = JSON.parse(fatalUtf8.decode(body.subarray(0, length)));
    } catch {
      throw new ScoreError(400, jsonInvalidMessage(body.subarray(0, length)), TYPE_VALIDATION);
    }
    const request = parseRankRequest(value, this.opts.maxItems);
    applyUrgency(
      job,
      request.deadlineMs ?? deadlineHeader(req.headers['x-scorecar-deadline-ms']),
      request.priority ?? priorityHeader(req.headers['x-scorecar-priority']),
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
    return 200;
  }

  /** Answered requests feed the depth controller. */
  protected override finished(code: number, job: ScoreJob, started: number): void {
    if (code !== 200) return;
    const ms = performance.now() - started;
    this.depth.observe(this.opts.depthSignal === 'latency' ? ms : job.queueMs, performance.now());
  }
}
