import { randomUUID } from 'node:crypto';
import type { HttpReply, HttpRequestView } from './exchange.js';
import type { Logger } from '../../observe/logger.js';
import { BackendUnavailable, BadGateway, UpstreamError } from '../../backend/errors.js';
import { DeadlineExceededInFlight, ShaperRefused } from '../../control/shaper-errors.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import { ScoreError } from '../../pipeline/errors.js';
import type { RerankService } from '../../pipeline/rerank-service.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import type { PromptTemplate } from '../../tokenize/prompt-template.js';
import { RequestOptionError, type RequestDefaults, applyUrgency, deadlineHeader, priorityHeader } from '../request-options.js';
import { RerankRequestError, parseRerankRequest } from '../rerank-request.js';
import { sendBody } from './reply.js';
import { setTimingHeaders } from '../timing-headers.js';
import { readJsonBody } from './json-body.js';
import { ScoringRoute } from './scoring-route.js';

export interface RerankRouteOptions extends RequestDefaults {
  /** Where failed requests are logged (observe/logger.ts); default: nowhere. */
  log?: Logger;
  maxDocuments: number;
  defaultTemplate: PromptTemplate;
}


/** Cohere bills a search unit per query with up to 100 documents (each window counts as one). */
function searchUnits(windows: number): number {
  return Math.max(1, Math.ceil(windows / 100));
}

/**
 * POST /v1/rerank (Cohere v1 and Jina) and POST /v2/rerank (Cohere v2) over decoder yes/no
 * scoring: relevance_score is P(yes) under the request's template. See api/rerank-request.ts for
 * the shapes; errors are Cohere's form (`{"id","message"}`, with Jina's `detail` beside it on v1).
 */
export class RerankRoute extends ScoringRoute {
  constructor(
    private readonly service: RerankService,
    metrics: ScorecarMetrics,
    private readonly version: 1 | 2,
    private readonly opts: RerankRouteOptions,
  ) {
    super(new RouteMeter(metrics, version === 1 ? '/v1/rerank' : '/v2/rerank'), opts.log);
  }

  protected async answer(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, job: ScoreJob, started: number): Promise<number> {
    const r = parseRerankRequest(readJsonBody(body, length, this.opts.maxDocuments), this.version, { maxDocuments: this.opts.maxDocuments, defaultTemplate: this.opts.defaultTemplate });
    applyUrgency(job, deadlineHeader(req.headers['x-scorecar-deadline-ms']), priorityHeader(req.headers['x-scorecar-priority']), this.opts, started);
    const out = await this.service.rerank(r, job);
    const n = r.documents.length;
    const order = Array.from({ length: n }, (_, i) => i);
    // Best first; equal scores keep the documents' order (Array.prototype.sort is stable).
    order.sort((a, b) => (out.scores[b] as number) - (out.scores[a] as number));
    const top = order.slice(0, Math.min(n, r.topN ?? n));
    let windows = 0;
    for (let i = 0; i < n; i++) windows += out.chunks[i] as number;
    const results = top.map((i) => {
      const x: Record<string, unknown> = { index: i, relevance_score: out.scores[i] };
      if (r.returnDocuments) x.document = { text: r.documents[i] };
      if (r.maxChunksPerDoc > 1) x.chunks = out.chunks[i];
      return x;
    });
    const meta = {
      api_version: { version: String(this.version) },
      billed_units: { search_units: searchUnits(windows) },
      tokens: { input_tokens: out.promptTokens, output_tokens: 0 },
    };
    const model = r.model ?? out.model;
    const payload =
      this.version === 1
        ? { id: randomUUID(), results, meta, model, usage: { total_tokens: out.promptTokens, prompt_tokens: out.promptTokens } }
        : { id: randomUUID(), results, meta };
    this.meter.items(windows);
    const h = setTimingHeaders<Record<string, string>>({}, job, windows, performance.now() - started, out.cacheHits);
    h['x-scorecar-truncated'] = String(out.truncated);
    sendBody(res, 200, JSON.stringify(payload), 'application/json', h);
    return 200;
  }

  protected override fail(res: HttpReply, e: unknown): number {
    let status = 500;
    let message = `internal server error: ${String((e as Error)?.message ?? e)}`;
    const headers: Record<string, string> = {};
    if (e instanceof RerankRequestError) [status, message] = [e.status, e.message];
    else if (e instanceof RequestOptionError) [status, message] = [400, `invalid request: ${e.message}`];
    else if (e instanceof ScoreError) {
      [status, message] = [e.status, e.status === 400 ? `invalid request: ${e.message}` : e.message];
      if (e.retryAfterS !== null) headers['retry-after'] = String(e.retryAfterS);
    } else if (e instanceof ShaperRefused) {
      status = e.reason === 'closed' ? 503 : 429;
      message = `too many requests: ${e.message} (scorecar traffic shaper)`;
      headers['retry-after'] = String(e.retryAfterS);
    } else if (e instanceof DeadlineExceededInFlight) [status, message] = [504, `gateway timeout: ${e.message}`];
    else if (e instanceof BackendUnavailable) {
      [status, message] = [503, `service unavailable: ${e.message}`];
      headers['retry-after'] = String(e.retryAfterS);
    } else if (e instanceof BadGateway || e instanceof UpstreamError) [status, message] = [502, `bad gateway: ${(e as Error).message}`];
    else if ((e as Error)?.name === 'AbortError') {
      if (res.destroyed) return 499;
      [status, message] = [503, 'service unavailable: the request was cancelled inside scorecar'];
      headers['retry-after'] = '1';
    }
    const body = this.version === 1 ? { id: randomUUID(), message, detail: message } : { id: randomUUID(), message };
    sendBody(res, status, JSON.stringify(body), 'application/json', headers);
    return status;
  }
}
