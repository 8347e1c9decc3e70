import { Pool } from 'undici';
import type { Corpus, CorpusItem } from '../../workload/corpus.js';
import { type BenchRequest, type PromptPart, STATUS_BAD_BODY, type ScoreTarget, type SendResult } from '../target.js';
import { urgencyHeaders } from './http-score.js';

export interface RankTargetOptions {
  name: string;
  /** Base URL (http://host:port) or the full /rank URL. */
  url: string;
  /** Where the request's parts come from: queries and items are looked up by id. */
  corpus: Corpus;
  /** `depth` sent in every request; null: none, so scorecar's depth controller picks it. */
  depth: number | null;
  connections: number;
  apiKey: string | null;
}

/**
 * scorecar's POST /rank (design §3) over HTTP/1.1: the request's query as text and its items as
 * candidates `{id, fields}` in retrieval order, the structured job fields from the corpus, which
 * the template renders into exactly the item part the corpus tokenized (the same prompt
 * /v1/score gets). With `depth` null the controller decides how many candidates are scored; the
 * answer's `depth` is reported (SendResult.depth) and items/s count the scored ones.
 *
 * Bodies are concatenated from per-item JSON fragments, memoised, as in HttpScoreTarget.
 */
export class RankTarget implements ScoreTarget {
  readonly name: string;
  readonly kind = 'rank';
  readonly url: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly tail: string;
  private readonly fragments = new Map<number, string>();

  constructor(private readonly o: RankTargetOptions) {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported URL ${o.url}`);
    if (o.depth !== null && !(Number.isInteger(o.depth) && o.depth >= 1)) throw new Error(`depth must be a positive integer, got ${o.depth}`);
    this.name = o.name;
    this.path = u.pathname === '/' || u.pathname === '' ? '/rank' : u.pathname;
    this.url = `${u.origin}${this.path}`;
    this.headers = { 'content-type': 'application/json' };
    if (o.apiKey) this.headers.authorization = `Bearer ${o.apiKey}`;
    this.tail = o.depth === null ? ']}' : `],"depth":${o.depth}}`;
    this.pool = new Pool(u.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  async send(req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    const body = rankBody(this.queryText(req.query), req.items, (p) => this.fragment(p), this.tail);
    const res = await this.pool.request({ path: this.path, method: 'POST', headers: urgencyHeaders(this.headers, req), body, signal });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { status: res.statusCode };
    }
    return readRankReply(await res.body.text(), req.items.length);
  }

  private queryText(q: PromptPart): string {
    const query = this.o.corpus.queries[q.id];
    if (query === undefined || query.id !== q.id) throw new Error(`query ${q.id} is not in the corpus`);
    return query.query;
  }

  private fragment(p: PromptPart): string {
    let f = this.fragments.get(p.id);
    if (f === undefined) {
      const it = this.o.corpus.items[p.id];
      if (it === undefined || it.id !== p.id) throw new Error(`item ${p.id} is not in the corpus`);
      f = JSON.stringify(rankCandidate(it));
      this.fragments.set(p.id, f);
    }
    return f;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** A corpus posting as a /rank candidate: its id and the structured fields the template renders. */
export function rankCandidate(it: CorpusItem): { id: string; fields: Record<string, string> } {
  const f = it.fields;
  return {
    id: String(it.id),
    fields: {
      title: f.title,
      company: f.company,
      location: f.location,
      employment_type: f.employmentType,
      remote: f.remote,
      description: it.description,
    },
  };
}

/** The /rank body: query text, candidates (memoised JSON fragments) and the fixed tail. */
export function rankBody(query: string, items: readonly PromptPart[], fragment: (p: PromptPart) => string, tail: string): string {
  let body = `{"query":${JSON.stringify(query)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) body += ',';
    body += fragment(items[i] as PromptPart);
  }
  return body + tail;
}

/**
 * A /rank answer counts as a success when it is consistent: `depth` candidates scored (results
 * hold at most that many, with finite scores), the other sent - depth listed as unscored.
 */
export function readRankReply(text: string, sent: number): SendResult {
  let r: { results?: unknown; unscored?: unknown; depth?: unknown; cache_hits?: unknown };
  try {
    r = JSON.parse(text) as typeof r;
  } catch {
    return { status: STATUS_BAD_BODY };
  }
  const depth = r.depth;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > sent) return { status: STATUS_BAD_BODY };
  if (!Array.isArray(r.results) || r.results.length > depth || !Array.isArray(r.unscored) || r.unscored.length !== sent - depth) {
    return { status: STATUS_BAD_BODY };
  }
  for (const x of r.results as unknown[]) {
    const score = (x as { score?: unknown } | null)?.score;
    if (typeof score !== 'number' || !Number.isFinite(score)) return { status: STATUS_BAD_BODY };
  }
  const out: SendResult = { status: 200, scoredItems: depth, depth };
  if (typeof r.cache_hits === 'number') out.cacheHits = r.cache_hits;
  return out;
}
