import { LRUCache } from 'lru-cache';
import type { KeyedHash } from '../mem/keyed-hash.js';
import type { PromptTemplate } from '../tokenize/prompt-template.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE } from '../tokenize/protocol.js';
import type { TokenCache } from '../tokenize/token-cache.js';
import { ScoreError } from './errors.js';
import type { RankItem } from './rank-input.js';
import { fixedIds } from './rank-stage.js';
import type { RankService } from './rank-service.js';
import { defaultOverlap, planWindows } from './rerank-windows.js';
import type { ScoreJob } from './score-job.js';

/** What the rerank routes ask of the pipeline (api/rerank-request.ts parses it). */
export interface RerankInput {
  query: string;
  documents: string[];
  template: PromptTemplate;
  /** Scored tokens per document (per window); null: DEFAULT_MAX_TOKENS_PER_DOC. */
  maxTokensPerDoc: number | null;
  maxChunksPerDoc: number;
}

export interface RerankOutcome {
  /** P(yes) per document: the max over its windows. */
  scores: Float64Array;
  /** Windows scored per document. */
  chunks: Int32Array;
  /** Whether every window of the document came from the score cache. */
  cached: Uint8Array;
  /** Prompt tokens of every scored window (what SGLang would count). */
  promptTokens: number;
  /** Documents cut to fit (their tail not scored). */
  truncated: number;
  cacheHits: number;
  model: string;
}

export interface RerankDeps {
  pool: TokenizerPool;
  /** template + document text -> the document's item ids (template fixed parts included). */
  docCache: TokenCache;
  /** The deployment's keyed hash (cache identity). */
  hasher: KeyedHash;
  rank: RankService;
  /** The backend's max_req_input_len, or null when no backend is known yet. */
  maxReqInputLen(): number | null;
  /** Windows one request may score in all (--max-rerank-chunks). */
  maxChunksPerRequest: number;
}

/** Cohere's default for max_tokens_per_doc. */
export const DEFAULT_MAX_TOKENS_PER_DOC = 4096;

function startsWith(ids: Int32Array, head: Int32Array): boolean {
  if (ids.length < head.length) return false;
  for (let i = 0; i < head.length; i++) if (ids[i] !== head[i]) return false;
  return true;
}

function endsWith(ids: Int32Array, tail: Int32Array): boolean {
  const off = ids.length - tail.length;
  if (off < 0) return false;
  for (let i = 0; i < tail.length; i++) if (ids[off + i] !== tail[i]) return false;
  return true;
}

/**
 * Rerank over the /rank machinery. Each document is tokenized once per template and content
 * (doc token cache), cut between the template's fixed parts (so the prefix and the answer suffix
 * are never truncated) into one window or, with chunking, overlapping windows; every window is a
 * token-id candidate of the same pipeline as /rank (score cache, packing, shaping, deadlines),
 * so a repeated document costs neither tokenizing nor GPU. A document's score is its best
 * window's.
 */
export class RerankService {
  /** Prompt length of a template's prefix for a query, so a fully cached request tokenizes nothing. */
  private readonly prefixLens = new LRUCache<string, number>({ max: 4096 });

  constructor(private readonly deps: RerankDeps) {}

  async rerank(input: RerankInput, job: ScoreJob): Promise<RerankOutcome> {
    const { pool, docCache } = this.deps;
    const t = input.template;
    const n = input.documents.length;
    const started = performance.now();

    const docIds: (Int32Array | undefined)[] = new Array(n);
    // Keyed 128-bit identity of template + text, so the same text under two templates keys two entries.
    const keys = new Int32Array(4 * n);
    const texts: string[] = [];
    const owners: number[] = [];
    for (let i = 0; i < n; i++) {
      const doc = input.documents[i] as string;
      this.deps.hasher.text('text', JSON.stringify([t.name, t.version, 'rerank-doc', doc]), keys, 4 * i);
      const hit = docCache.get(keys, 4 * i, doc.length);
      if (hit !== undefined) docIds[i] = hit.ids;
      else {
        texts.push(t.item(doc));
        owners.push(i);
      }
    }
    const prefixKey = JSON.stringify([t.name, t.version, input.query]);
    let prefixLen = this.prefixLens.get(prefixKey);
    if (prefixLen === undefined) texts.push(t.prefix(input.query));
    if (texts.length > 0) {
      const ops = new Int32Array(texts.length * 3);
      texts.forEach((_, k) => ((ops[3 * k] = OP_ALONE), (ops[3 * k + 1] = k)));
      const r = await pool.encode({ type: 'encode', texts, ops, wantEdges: false });
      const slice = (k: number): Int32Array => {
        const off = r.packed[RESULT_HEADER + RESULT_STRIDE * k] as number;
        return r.packed.slice(off, off + (r.packed[RESULT_HEADER + RESULT_STRIDE * k + 1] as number));
      };
      owners.forEach((i, k) => {
        docIds[i] = docCache.set(keys, 4 * i, (input.documents[i] as string).length, slice(k), -1, -1).ids;
      });
      if (prefixLen === undefined) {
        prefixLen = r.packed[RESULT_HEADER + RESULT_STRIDE * owners.length + 1] as number;
        this.prefixLens.set(prefixKey, prefixLen);
      }
    }
    if (prefixLen === undefined) throw new Error('unreachable: prefix length unknown');
    const [before, after] = (await fixedIds(pool, [t.itemAroundIds[0], t.itemAroundIds[1]])) as [Int32Array, Int32Array];
    job.tokenizeMs += performance.now() - started;

    // The window cap: the request's (or Cohere's default), within what one prompt may hold.
    const limit = this.deps.maxReqInputLen();
    const room = limit === null ? Infinity : limit - 1 - prefixLen - before.length - after.length;
    const cap = Math.min(input.maxTokensPerDoc ?? DEFAULT_MAX_TOKENS_PER_DOC, room);
    if (cap < 1) throw new ScoreError(400, `the query leaves no room for a document: its prompt takes ${prefixLen} of ${limit} tokens`, 'BadRequestError');

    const units: RankItem[] = [];
    const unitDoc: number[] = [];
    const chunks = new Int32Array(n);
    let truncated = 0;
    let promptTokens = 0;
    for (let i = 0; i < n; i++) {
      const ids = docIds[i] as Int32Array;
      if (!startsWith(ids, before) || !endsWith(ids, after) || ids.length < before.length + after.length) {
        // The template's split does not hold for this text: score the whole item as text.
        units.push({ id: '', text: input.documents[i] as string });
        unitDoc.push(i);
        chunks[i] = 1;
        promptTokens += prefixLen + ids.length;
        continue;
      }
      const body = ids.subarray(before.length, ids.length - after.length);
      // Never plan past the request's window budget: one more than it is enough to refuse.
      const budget = this.deps.maxChunksPerRequest - units.length + 1;
      const plan = planWindows(body.length, cap, Math.min(input.maxChunksPerDoc, budget), defaultOverlap(cap));
      if ((plan.ends[plan.ends.length - 1] as number) < body.length) truncated++;
      if (units.length + plan.starts.length > this.deps.maxChunksPerRequest) {
        throw new ScoreError(
          400,
          `too many chunks: the documents need more than ${this.deps.maxChunksPerRequest} windows (scorecar --max-rerank-chunks); lower max_chunks_per_doc or send fewer documents`,
          'BadRequestError',
        );
      }
      for (let w = 0; w < plan.starts.length; w++) {
        const win = body.subarray(plan.starts[w] as number, plan.ends[w] as number);
        units.push({ id: '', ids: Array.from(win) });
        unitDoc.push(i);
        promptTokens += prefixLen + before.length + win.length + after.length;
      }
      chunks[i] = plan.starts.length;
    }

    // The cap also bounds documents scored as text (the template's split did not hold for them).
    const scored = await this.deps.rank.score({ query: input.query, items: units, template: t, maxTokensPerItem: cap }, units.length, job);
    const scores = new Float64Array(n).fill(-Infinity);
    const cached = new Uint8Array(n).fill(1);
    for (let u = 0; u < units.length; u++) {
      const d = unitDoc[u] as number;
      const s = scored.scores[u] as number;
      if (s > (scores[d] as number)) scores[d] = s;
      if (scored.cached[u] === 0) cached[d] = 0;
    }
    return { scores, chunks, cached, promptTokens, truncated, cacheHits: job.cacheHits, model: this.deps.rank.modelName() };
  }
}
