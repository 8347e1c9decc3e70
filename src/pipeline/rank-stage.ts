import type { KeyedHash } from '../mem/keyed-hash.js';
import { hashInts, hashOut, hashString, mixInt } from '../mem/hash.js';
import type { PromptTemplate } from '../tokenize/prompt-template.js';
import type { RankInput, RankItem } from './rank-input.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE } from '../tokenize/protocol.js';
import type { CachedTokens, TokenCache } from '../tokenize/token-cache.js';
import type { ScoreJob } from './score-job.js';


export interface RankTokenizeDeps {
  pool: TokenizerPool;
  /** template + query -> prefix ids. */
  prefixCache: TokenCache;
  /** template + item id + content hash -> item-part ids. */
  itemCache: TokenCache;
}

/** Lanes of a template's identity, folded into every key built from it. */
function templateSeed(t: PromptTemplate): [number, number] {
  hashString(`${t.name}@${t.version}`);
  return [hashOut[0] as number, hashOut[1] as number];
}

/** Ids of fixed template texts around id-given queries and bodies, tokenized once. */
const aroundIds = new Map<string, Int32Array>();

export async function fixedIds(pool: TokenizerPool, texts: string[]): Promise<Int32Array[]> {
  const missing = texts.filter((t) => !aroundIds.has(t));
  if (missing.length > 0) {
    const ops = new Int32Array(missing.length * 3);
    missing.forEach((_, i) => ((ops[3 * i] = OP_ALONE), (ops[3 * i + 1] = i)));
    const r = await pool.encode({ type: 'encode', texts: missing, ops, wantEdges: false });
    missing.forEach((t, i) => {
      const off = r.packed[RESULT_HEADER + RESULT_STRIDE * i] as number;
      aroundIds.set(t, r.packed.slice(off, off + (r.packed[RESULT_HEADER + RESULT_STRIDE * i + 1] as number)));
    });
  }
  return texts.map((t) => aroundIds.get(t) as Int32Array);
}

function concatIds(parts: ArrayLike<number>[]): Int32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, at);
    at += p.length;
  }
  return out;
}

/**
 * An item part cut to `cap` body tokens: head ++ body[0, cap) ++ tail, or null when it fits (or
 * does not have the template's fixed parts at its ends, in which case nothing can be cut safely).
 */
export function truncateBody(ids: Int32Array, off: number, len: number, head: Int32Array, tail: Int32Array, cap: number): Int32Array | null {
  const bodyLen = len - head.length - tail.length;
  if (bodyLen <= cap) return null;
  for (let j = 0; j < head.length; j++) if (ids[off + j] !== head[j]) return null;
  for (let j = 0; j < tail.length; j++) if (ids[off + len - tail.length + j] !== tail[j]) return null;
  const out = new Int32Array(head.length + cap + tail.length);
  out.set(ids.subarray(off, off + head.length + cap), 0);
  out.set(tail, head.length + cap);
  return out;
}

/**
 * Sets up a job for the first `depth` candidates of a /rank request: labels and flags from the
 * template, the unkeyed hash of template + query (+ cap) in job.textHash (the coalescer's key),
 * and keyed identities (template + query; template + item id + content + cap) in job.idHash,
 * which key the item token cache and the score cache.
 */
export function identifyRank(job: ScoreJob, input: RankInput, depth: number, hasher: KeyedHash): void {
  const t = input.template;
  let [sa, sb] = templateSeed(t);
  // A cap changes what is scored: requests with different caps never share a pack (the item
  // identities below carry it too).
  const cap = input.maxTokensPerItem ?? 0;
  if (cap > 0) [sa, sb] = [mixInt(sa, cap), mixInt(sb, cap ^ 0x5f)];
  job.reserve(depth);
  job.n = depth;
  job.kind = 'tokens';
  job.wholePrompts = false;
  job.applySoftmax = true;
  job.hasLabels = true;
  job.nLabels = 0;
  job.pushLabel(t.labelTokenIds[0]);
  job.pushLabel(t.labelTokenIds[1]);
  if (typeof input.query === 'string') hashString(input.query, sa, sb);
  else hashInts(input.query, 0, input.query.length, sa ^ 0x51, sb);
  job.textHash[0] = hashOut[0] as number;
  job.textHash[1] = hashOut[1] as number;
  // The keyed identity (token caches, score-cache keys): JSON arrays keep fields apart.
  const q = input.query;
  hasher.text('text', JSON.stringify([t.name, t.version, 'query', typeof q === 'string' ? q : Array.from(q)]), job.idHash, 0);
  for (let i = 0; i < depth; i++) {
    const item = input.items[i] as RankItem;
    hasher.text('text', rankItemIdentity(t, item, cap), job.idHash, 4 * (i + 1));
  }
}

/** What the client sent for one item, with the template and the token cap (both change what is scored). */
function rankItemIdentity(t: PromptTemplate, item: RankItem, cap: number): string {
  if (item.text !== undefined) return JSON.stringify([t.name, t.version, cap, 'text', item.id, item.text]);
  if (item.ids !== undefined) return JSON.stringify([t.name, t.version, cap, 'ids', item.id, Array.from(item.ids)]);
  const f = item.fields ?? {};
  return JSON.stringify([t.name, t.version, cap, 'fields', item.id, f.title ?? null, f.company ?? null, f.location ?? null, f.employment_type ?? null, f.remote ?? null, f.description ?? null]);
}

function sizeOf(item: RankItem): number {
  return item.text?.length ?? item.ids?.length ?? 0;
}

/**
 * Resolves the job's active candidates to prompt segments: the prefix (system turn + query) once,
 * each item part from the item cache or tokenized in one worker task. The template's split is on
 * a pre-tokenizer boundary, so prefix ids + item ids are exactly the whole prompt's ids.
 */
export async function tokenizeRank(job: ScoreJob, input: RankInput, deps: RankTokenizeDeps): Promise<void> {
  const t = input.template;
  const started = performance.now();
  const qChars = typeof input.query === 'string' ? input.query.length : input.query.length * 4;
  let prefix: CachedTokens | undefined = deps.prefixCache.get(job.idHash, 0, qChars);

  const texts: string[] = [];
  const owners: number[] = []; // -1 = the prefix, else the item index
  const idParts: Array<[number, number[]]> = [];
  if (prefix === undefined && typeof input.query === 'string') {
    texts.push(t.prefix(input.query));
    owners.push(-1);
  }
  for (let k = 0; k < job.nActive; k++) {
    const i = job.active[k] as number;
    const item = input.items[i] as RankItem;
    job.bLen[i] = 0;
    const hit = deps.itemCache.get(job.idHash, 4 * (i + 1), sizeOf(item));
    if (hit !== undefined) {
      job.aRef[i] = hit.ids;
      job.aOff[i] = 0;
      job.aLen[i] = hit.ids.length;
      continue;
    }
    if (item.ids !== undefined) idParts.push([i, item.ids]);
    else {
      texts.push(t.item(item.text ?? t.renderFields(item.fields ?? {})));
      owners.push(i);
    }
  }

  const store = (owner: number, ids: Int32Array): void => {
    if (owner < 0) {
      prefix = deps.prefixCache.set(job.idHash, 0, qChars, ids, -1, -1);
      return;
    }
    const e = deps.itemCache.set(job.idHash, 4 * (owner + 1), sizeOf(input.items[owner] as RankItem), ids, -1, -1);
    job.aRef[owner] = e.ids;
    job.aOff[owner] = 0;
    job.aLen[owner] = e.ids.length;
  };
  if (texts.length > 0) {
    const ops = new Int32Array(texts.length * 3);
    texts.forEach((_, k) => ((ops[3 * k] = OP_ALONE), (ops[3 * k + 1] = k)));
    const r = await deps.pool.encode({ type: 'encode', texts, ops, wantEdges: false }, job.scope, job.deadlineAt);
    owners.forEach((owner, k) => {
      const off = r.packed[RESULT_HEADER + RESULT_STRIDE * k] as number;
      store(owner, r.packed.slice(off, off + (r.packed[RESULT_HEADER + RESULT_STRIDE * k + 1] as number)));
    });
  }
  if (prefix === undefined || idParts.length > 0) {
    const [pb, pa, ib, ia] = await fixedIds(deps.pool, [t.prefixAroundIds[0], t.prefixAroundIds[1], t.itemAroundIds[0], t.itemAroundIds[1]]);
    if (prefix === undefined) store(-1, concatIds([pb as Int32Array, input.query as number[], pa as Int32Array]));
    for (const [i, ids] of idParts) store(i, concatIds([ib as Int32Array, ids, ia as Int32Array]));
  }
  const cap = input.maxTokensPerItem ?? 0;
  if (cap > 0) {
    const [head, tail] = (await fixedIds(deps.pool, [t.itemAroundIds[0], t.itemAroundIds[1]])) as [Int32Array, Int32Array];
    for (let k = 0; k < job.nActive; k++) {
      const i = job.active[k] as number;
      const cut = truncateBody(job.aRef[i] as Int32Array, job.aOff[i] as number, job.aLen[i] as number, head, tail, cap);
      if (cut !== null) {
        job.aRef[i] = cut;
        job.aOff[i] = 0;
        job.aLen[i] = cut.length;
      }
    }
  }
  const p = prefix as unknown as CachedTokens;
  job.qRef = p.ids;
  job.qOff = 0;
  job.qLen = p.ids.length;
  job.tokenizeMs += performance.now() - started;
}
