import { Pool } from 'undici';
import { QWEN3_YES_NO } from '../../../src/tokenize/prompt-template.js';
import type { Corpus } from '../../workload/corpus.js';
import { type BenchRequest, type PromptPart, STATUS_BAD_BODY, type ScoreTarget, type SendResult } from '../target.js';
import { urgencyHeaders } from './http-score.js';
import { rankCandidate } from './rank.js';

export interface RerankTargetOptions {
  name: string;
  /** Base URL (http://host:port) or the full /v2/rerank URL. */
  url: string;
  corpus: Corpus;
  connections: number;
  apiKey: string | null;
}

/**
 * scorecar's POST /v2/rerank (Cohere v2 shape) over HTTP/1.1 with the `qwen3-yes-no` template:
 * each document is the posting rendered exactly as /rank renders its fields, so a rerank request
 * scores the same prompts as the /rank request for the same query and postings.
 */
export class RerankTarget implements ScoreTarget {
  readonly name: string;
  readonly kind = 'rerank';
  readonly url: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly fragments = new Map<number, string>();

  constructor(private readonly o: RerankTargetOptions) {
    const u = new URL(o.url);
    this.name = o.name;
    this.path = u.pathname === '/' || u.pathname === '' ? '/v2/rerank' : u.pathname;
    this.url = `${u.origin}${this.path}`;
    this.headers = { 'content-type': 'application/json' };
    if (o.apiKey) this.headers.authorization = `Bearer ${o.apiKey}`;
    this.pool = new Pool(u.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  async send(req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    const query = this.o.corpus.queries[req.query.id];
    if (query === undefined) throw new Error(`query ${req.query.id} is not in the corpus`);
    let body = `{"model":"bench","template":"qwen3-yes-no","query":${JSON.stringify(query.query)},"documents":[`;
    for (let i = 0; i < req.items.length; i++) {
      if (i > 0) body += ',';
      body += this.fragment(req.items[i] as PromptPart);
    }
    body += ']}';
    const res = await this.pool.request({ path: this.path, method: 'POST', headers: urgencyHeaders(this.headers, req), body, signal });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { status: res.statusCode };
    }
    const hits = Number(res.headers['x-scorecar-cache-hits'] ?? 0);
    try {
      const r = JSON.parse(await res.body.text()) as { results?: Array<{ relevance_score?: unknown }> };
      const ok = Array.isArray(r.results) && r.results.length === req.items.length && r.results.every((x) => typeof x.relevance_score === 'number');
      return ok ? { status: 200, cacheHits: hits } : { status: STATUS_BAD_BODY };
    } catch {
      return { status: STATUS_BAD_BODY };
    }
  }

  private fragment(p: PromptPart): string {
    let f = this.fragments.get(p.id);
    if (f === undefined) {
      const it = this.o.corpus.items[p.id];
      if (it === undefined) throw new Error(`item ${p.id} is not in the corpus`);
      f = JSON.stringify(QWEN3_YES_NO.renderFields(rankCandidate(it).fields));
      this.fragments.set(p.id, f);
    }
    return f;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
