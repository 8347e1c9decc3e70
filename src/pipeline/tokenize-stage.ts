import type { JoinOracle } from '../tokenize/join-oracle.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import {
  OP_ALONE,
  OP_JOIN,
  OP_PAIR,
  PAIR_ITEM_FIRST,
  RESULT_HEADER,
  RESULT_STRIDE,
  type EncodeResult,
} from '../tokenize/protocol.js';
import type { CachedTokens, TokenCache } from '../tokenize/token-cache.js';
import type { ScoreJob } from './score-job.js';

export interface TokenizeDeps {
  pool: TokenizerPool;
  prefixCache: TokenCache;
  itemCache: TokenCache;
  oracle: JoinOracle;
}

/** Per-item states while resolving. */
const READY = 0; // item ids in segment A, join exact (or MIS: no join)
const MISS = 1; // not cached: tokenize alone (MIS) or as a pair (single-item)
const JOIN = 2; // cached, but query+item must be tokenized as one string
const WHOLE = 3; // segment A holds the whole joined prompt
const UNDECIDED = 4; // cached; the query is new, so its join is judged after the worker

/**
 * Resolves a job's prompts to token ids with SGLang's text semantics for the backend's mode:
 *  - MIS: the query and each item are tokenized on their own;
 *  - single-item: each query+item (or item+query) string is tokenized whole. That equals the
 *    parts' ids joined when the JoinOracle proves the join exact; only then is the item cache
 *    used, otherwise the whole string goes to a worker.
 * A warm text request (texts cached, joins exact) touches no worker and allocates nothing per
 * item.
 */
/** Ids requests: the client's ids are the prompt parts (synchronous: no promise per request). */
export function resolveIds(job: ScoreJob): void {
  job.qRef = job.arena;
  job.qOff = job.queryOff;
  job.qLen = job.queryLen;
  for (let i = 0; i < job.n; i++) {
    job.aRef[i] = job.arena;
    job.bLen[i] = 0;
  }
}

/** What resolveTextNow found in the token caches, for resolveTextRest. */
export interface TextLookup {
  query: CachedTokens | undefined;
  /** Items (and joins) a worker must tokenize. */
  work: number;
  /** Cached items whose join with a new query is judged once the worker has the query. */
  undecided: number;
  started: number;
}

/**
 * The token caches' part of resolveText, synchronous: null when that resolved the job (every
 * text cached, every join exact: the warm request, with no promise or object), else what it
 * found, for resolveTextRest.
 */
export function resolveTextNow(job: ScoreJob, deps: TokenizeDeps, mis: boolean): TextLookup | null {
  const started = performance.now();
  const { prefixCache, itemCache, oracle } = deps;
  const h = job.idHash;
  const state = job.itemState;
  const itemFirst = job.itemFirst && !mis;
  const query = prefixCache.get(h, 0, job.queryEnd - job.queryStart);

  const act = job.active;
  const m = job.nActive;
  let work = 0;
  let undecided = 0;
  for (let k = 0; k < m; k++) {
    const i = act[k] as number;
    const bytes = (job.itemSpans[2 * i + 1] as number) - (job.itemSpans[2 * i] as number);
    const entry = itemCache.get(h, 4 * (i + 1), bytes);
    if (entry === undefined) {
      state[i] = MISS;
      work++;
      continue;
    }
    setItem(job, i, entry, itemFirst);
    if (mis) state[i] = READY;
    else if (query === undefined) {
      state[i] = UNDECIDED;
      undecided++;
    } else if (oracleExact(oracle, query, job.itemEdge[i] as number, itemFirst)) state[i] = READY;
    else {
      state[i] = JOIN;
      work++;
    }
  }
  if (query !== undefined && work === 0) {
    finish(job, query, itemFirst, started);
    return null;
  }
  return { query, work, undecided, started };
}

/** The workers' part of resolveText: what the caches did not hold, tokenized, then the job's prompts set. */
export async function resolveTextRest(job: ScoreJob, deps: TokenizeDeps, mis: boolean, found: TextLookup): Promise<void> {
  const { oracle } = deps;
  const state = job.itemState;
  const itemFirst = job.itemFirst && !mis;
  const act = job.active;
  const m = job.nActive;
  let query = found.query;
  if (query === undefined || found.work > 0) {
    query = absorb(job, deps, await runTask(job, deps, mis, query === undefined, itemFirst), mis, query, itemFirst);
  }
  if (found.undecided > 0) {
    let joins = 0;
    for (let k = 0; k < m; k++) {
      const i = act[k] as number;
      if (state[i] !== UNDECIDED) continue;
      if (oracleExact(oracle, query, job.itemEdge[i] as number, itemFirst)) state[i] = READY;
      else {
        state[i] = JOIN;
        joins++;
      }
    }
    if (joins > 0) absorb(job, deps, await runTask(job, deps, mis, false, itemFirst), mis, query, itemFirst);
  }
  finish(job, query, itemFirst, found.started);
}

/** resolveTextNow, then resolveTextRest when the caches were not enough. */
export function resolveText(job: ScoreJob, deps: TokenizeDeps, mis: boolean): Promise<void> {
  const found = resolveTextNow(job, deps, mis);
  return found === null ? Promise.resolve() : resolveTextRest(job, deps, mis, found);
}

/** The job's prompt parts from the query's entry and the items' states. */
function finish(job: ScoreJob, query: CachedTokens, itemFirst: boolean, started: number): void {
  const state = job.itemState;
  const act = job.active;
  const m = job.nActive;
  job.qRef = query.ids;
  job.qOff = 0;
  job.qLen = query.ids.length;
  let whole = false;
  for (let k = 0; k < m; k++) {
    const i = act[k] as number;
    job.bLen[i] = 0;
    if (state[i] === WHOLE) whole = true;
  }
  job.wholePrompts = whole;
  if (whole) {
    // The query travels inside each prompt: exact joins become query ids + item ids.
    for (let k = 0; k < m; k++) {
      const i = act[k] as number;
      if (state[i] === WHOLE) continue;
      if (itemFirst) {
        job.bRef[i] = query.ids;
        job.bOff[i] = 0;
        job.bLen[i] = query.ids.length;
      } else {
        job.bRef[i] = job.aRef[i] as Int32Array;
        job.bOff[i] = job.aOff[i] as number;
        job.bLen[i] = job.aLen[i] as number;
        job.aRef[i] = query.ids;
        job.aOff[i] = 0;
        job.aLen[i] = query.ids.length;
      }
    }
  }
  job.tokenizeMs += performance.now() - started;
}

function setItem(job: ScoreJob, i: number, entry: CachedTokens, itemFirst: boolean): void {
  job.aRef[i] = entry.ids;
  job.aOff[i] = 0;
  job.aLen[i] = entry.ids.length;
  // The edge that meets the query: the item's end when it goes first, else its start.
  job.itemEdge[i] = itemFirst ? entry.left : entry.right;
}

function oracleExact(oracle: JoinOracle, query: CachedTokens, itemEdge: number, itemFirst: boolean): boolean {
  return itemFirst ? oracle.exact(itemEdge, query.right) : oracle.exact(query.left, itemEdge);
}

/**
 * One worker task for everything the job still needs. Text 0 is the query, item i is text
 * i + 1. Ops: ALONE(query) when it is new; MISS items: ALONE (MIS) or PAIR (single-item, which
 * also returns the joined encoding when the join is inexact); JOIN items: JOIN.
 */
function runTask(job: ScoreJob, deps: TokenizeDeps, mis: boolean, needQuery: boolean, itemFirst: boolean): Promise<EncodeResult> {
  const n = job.n;
  const state = job.itemState;
  let nOps = needQuery ? 1 : 0;
  let bytes = job.queryEnd - job.queryStart;
  for (let k = 0; k < job.nActive; k++) {
    const i = job.active[k] as number;
    if (state[i] === MISS || state[i] === JOIN) {
      nOps++;
      bytes += (job.itemSpans[2 * i + 1] as number) - (job.itemSpans[2 * i] as number);
    }
  }
  // Only the texts the worker needs, in a buffer that is transferred rather than cloned.
  const buf = new Uint8Array(bytes);
  const spans = new Int32Array(2 * (n + 1));
  const ops = new Int32Array(3 * nOps);
  let at = 0;
  const copy = (t: number, s: number, e: number): void => {
    buf.set(job.body.subarray(s, e), at);
    spans[2 * t] = at;
    spans[2 * t + 1] = at + (e - s);
    at += e - s;
  };
  copy(0, job.queryStart, job.queryEnd);
  let k = 0;
  if (needQuery) ops[k++ * 3] = OP_ALONE; // text 0, the query
  const pairFlags = (itemFirst ? PAIR_ITEM_FIRST : 0) << 16;
  for (let a = 0; a < job.nActive; a++) {
    const i = job.active[a] as number;
    const st = state[i];
    if (st !== MISS && st !== JOIN) continue;
    copy(i + 1, job.itemSpans[2 * i] as number, job.itemSpans[2 * i + 1] as number);
    if (st === MISS) {
      ops[3 * k] = mis ? OP_ALONE : OP_PAIR;
      ops[3 * k + 1] = i + 1;
      ops[3 * k + 2] = mis ? 0 : pairFlags; // query is text 0
    } else {
      ops[3 * k] = OP_JOIN;
      ops[3 * k + 1] = itemFirst ? i + 1 : 0;
      ops[3 * k + 2] = itemFirst ? 0 : i + 1;
    }
    k++;
  }
  return deps.pool.encode({ type: 'encode', bytes: buf, spans, ops, wantEdges: true }, job.scope, job.deadlineAt);
}

/** Takes a worker result into the job and the caches; returns the query's entry. */
function absorb(
  job: ScoreJob,
  deps: TokenizeDeps,
  r: EncodeResult,
  mis: boolean,
  query: CachedTokens | undefined,
  itemFirst: boolean,
): CachedTokens {
  const packed = r.packed;
  const h = job.idHash;
  const state = job.itemState;
  let k = 0;
  let e = 0;
  // Edge keys come only with ALONE and PAIR ops, two each, in op order.
  const cacheOp = (t: number, bytes: number): CachedTokens => {
    const base = RESULT_HEADER + RESULT_STRIDE * k;
    const off = packed[base] as number;
    const len = packed[base + 1] as number;
    const left = deps.oracle.left(r.edges[e++] as string);
    const right = deps.oracle.right(r.edges[e++] as string);
    const cache = t === 0 ? deps.prefixCache : deps.itemCache;
    return cache.set(h, 4 * t, bytes, packed.slice(off, off + len), left, right);
  };
  if (query === undefined) {
    query = cacheOp(0, job.queryEnd - job.queryStart);
    k++;
  }
  for (let a = 0; a < job.nActive; a++) {
    const i = job.active[a] as number;
    const st = state[i];
    if (st !== MISS && st !== JOIN) continue;
    const base = RESULT_HEADER + RESULT_STRIDE * k;
    if (st === MISS) {
      const bytes = (job.itemSpans[2 * i + 1] as number) - (job.itemSpans[2 * i] as number);
      setItem(job, i, cacheOp(i + 1, bytes), itemFirst);
      const joinOff = packed[base + 2] as number;
      if (!mis && joinOff >= 0) useWhole(job, i, packed, joinOff, packed[base + 3] as number);
      else state[i] = READY;
    } else {
      useWhole(job, i, packed, packed[base] as number, packed[base + 1] as number);
    }
    k++;
  }
  return query;
}

function useWhole(job: ScoreJob, i: number, packed: Int32Array, off: number, len: number): void {
  job.aRef[i] = packed;
  job.aOff[i] = off;
  job.aLen[i] = len;
  job.itemState[i] = WHOLE;
}
