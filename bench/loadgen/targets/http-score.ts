import { Pool } from 'undici';
import {
  type BenchRequest,
  type PromptPart,
  STATUS_BAD_BODY,
  type ScoreTarget,
  type SendResult,
} from '../target.js';

/** How a /v1/score body carries the prompt: SGLang tokenizes text; ids skip its tokenizer. */
export type ScoreEncoding = 'text' | 'ids';

export interface HttpScoreTargetOptions {
  name: string;
  /** Base URL (http://host:port) or the full /v1/score URL. */
  url: string;
  encoding: ScoreEncoding;
  labelTokenIds: readonly number[];
  /** Open connections; requests beyond them queue inside the pool (and that wait is measured). */
  connections: number;
  /** Sent as Bearer when set (SGLang's and scorecar's --api-key). */
  apiKey: string | null;
}

/**
 * POST /v1/score over HTTP/1.1 with undici's Pool. The same class measures SGLang (or the
 * emulator) directly and scorecar in front of it: both speak SGLang's schema.
 *
 * Bodies are concatenated from per-part JSON fragments, memoised per prompt part, so the load
 * generator spends its CPU on sending rather than on JSON.stringify of long descriptions.
 */
export class HttpScoreTarget implements ScoreTarget {
  readonly name: string;
  readonly kind: ScoreEncoding;
  readonly url: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly tail: string;
  private readonly fragments = new WeakMap<PromptPart, string>();

  constructor(o: HttpScoreTargetOptions) {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported URL ${o.url}`);
    this.name = o.name;
    this.kind = o.encoding;
    this.path = u.pathname === '/' || u.pathname === '' ? '/v1/score' : u.pathname;
    this.url = `${u.origin}${this.path}`;
    this.headers = { 'content-type': 'application/json' };
    if (o.apiKey) this.headers.authorization = `Bearer ${o.apiKey}`;
    this.tail = `],"label_token_ids":[${o.labelTokenIds.join(',')}],"apply_softmax":true}`;
    // Timeouts are the runner's (an AbortSignal per request, from the scheduled time); undici's
    // own would start later, at dispatch, and count differently.
    this.pool = new Pool(u.origin, {
      connections: o.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async send(req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    let body = `{"query":${this.fragment(req.query)},"items":[`;
    for (let i = 0; i < req.items.length; i++) {
      if (i > 0) body += ',';
      body += this.fragment(req.items[i] as PromptPart);
    }
    body += this.tail;
    const res = await this.pool.request({ path: this.path, method: 'POST', headers: urgencyHeaders(this.headers, req), body, signal });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { status: res.statusCode };
    }
    const text = await res.body.text();
    const hits = res.headers['x-scorecar-cache-hits'];
    const result: SendResult = { status: validScores(text, req.items.length) ? 200 : STATUS_BAD_BODY };
    if (typeof hits === 'string' && hits !== '') result.cacheHits = Number(hits);
    return result;
  }

  private fragment(p: PromptPart): string {
    let f = this.fragments.get(p);
    if (f === undefined) {
      f = this.kind === 'text' ? JSON.stringify(p.text) : `[${p.ids.join(',')}]`;
      this.fragments.set(p, f);
    }
    return f;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * The request's priority class and deadline as scorecar's x-scorecar-priority and
 * x-scorecar-deadline-ms headers; the shared header object when the request carries neither.
 */
export function urgencyHeaders(base: Record<string, string>, req: Pick<BenchRequest, 'priority' | 'deadlineMs'>): Record<string, string> {
  if (req.priority === undefined && req.deadlineMs === undefined) return base;
  const h = { ...base };
  if (req.priority !== undefined) h['x-scorecar-priority'] = req.priority;
  if (req.deadlineMs !== undefined) h['x-scorecar-deadline-ms'] = String(Math.max(1, Math.round(req.deadlineMs)));
  return h;
}

/** A body counts as a success only when it holds one score row per item sent. */
function validScores(text: string, items: number): boolean {
  try {
    const scores = (JSON.parse(text) as { scores?: unknown }).scores;
    return Array.isArray(scores) && scores.length === items && scores.every((r) => Array.isArray(r));
  } catch {
    return false;
  }
}
