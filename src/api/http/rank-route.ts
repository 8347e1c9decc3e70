import type { HttpReply, HttpRequestView } from './exchange.js';
import type { Logger } from '../../observe/logger.js';
import type { DepthController } from '../../control/depth-controller.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import type { RankService } from '../../pipeline/rank-service.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { CONTENT_TYPE_MESSAGE, isSglangJsonContentType } from '../../sglang/content-type.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { ScoreError } from '../../pipeline/errors.js';
import { parseRankRequest } from '../rank-request.js';
import { type RequestDefaults, applyUrgency, deadlineHeader, priorityHeader } from '../request-options.js';
import { setTimingHeaders } from '../timing-headers.js';
import { readJsonBody } from './json-body.js';
import { ScoringRoute } from './scoring-route.js';

export interface RankRouteOptions extends RequestDefaults {
  /** Where failed requests are logged (observe/logger.ts); default: nowhere. */
  log?: Logger;
  maxItems: number;
  /** What the depth controller holds at target: end-to-end latency or shaper queue delay. */
  depthSignal: 'latency' | 'queue-delay';
}


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

  protected async answer(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, job: ScoreJob, started: number): Promise<number> {
    if (!isSglangJsonContentType(req.headers['content-type'])) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
    const request = parseRankRequest(readJsonBody(body, length, this.opts.maxItems), this.opts.maxItems);
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
      const h = setTimingHeaders<Record<string, string | number>>({ 'content-type': 'application/json', 'content-length': buf.length }, job, out.depth, performance.now() - started, out.cacheHits);
      h['x-scorecar-depth'] = String(out.depth);
      res.writeHead(200, h);
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
