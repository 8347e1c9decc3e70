import type { BackendReply } from '../backend/sglang-backend.js';
import type { RequestTrace } from '../observe/tracing.js';
import { bufferPool, int32Pool } from '../mem/buffer-pool.js';
import { CancelScope } from '../mem/cancel-scope.js';
import type { RankInput } from './rank-input.js';

/**
 * One scoring request on its way through the pipeline, in struct-of-arrays form: per-item data
 * lives in typed arrays indexed by item, and token ids stay in Int32Arrays (the request's own
 * arena or shared token-cache entries). Jobs are pooled, so a warm request allocates no per-item
 * objects at all.
 */
export class ScoreJob {
  // ---- what the client sent (filled by the API layer) ----
  /** text / ids: as the client sent them; tokens: prompt segments already resolved (/rank). */
  kind: 'text' | 'ids' | 'tokens' = 'ids';
  n = 0;
  /** The request body; text spans and the model name point into it. */
  body: Buffer = EMPTY;
  bodyLength = 0;
  /** What the client sent as query and items; kind is settled once both are known. */
  queryKind: 'text' | 'ids' | 'none' = 'none';
  itemsKind: 'text' | 'ids' | 'empty' = 'empty';
  /** Text query: [start, end) of its JSON string body. */
  queryStart = -1;
  queryEnd = -1;
  /** Text items: [start, end) of each JSON string body (2 per item). */
  itemSpans: Int32Array = new Int32Array(32);
  /** Texts whose JSON body holds escapes (bit per text: 0 = query, i + 1 = item i). */
  escaped: Uint8Array = new Uint8Array(17);
  /**
   * Unkeyed hash lanes of a text query as sent (raw JSON string bytes; /rank: its template and
   * query), the coalescer's grouping key (an id query is hashed there from its ids). The caches
   * key on idHash.
   */
  readonly textHash: Int32Array = new Int32Array(2);
  /**
   * Keyed 128-bit identity of each text (4 int32 lanes at 4t: t = 0 the query, i + 1 item i), from
   * mem/keyed-hash.ts: what the token caches and score-cache keys are built from.
   */
  idHash: Int32Array = new Int32Array(68);
  /** Token ids the client sent, in one arena: query first, then items. */
  arena: Int32Array = int32Pool.acquire(1024);
  arenaUsed = 0;
  queryOff = 0;
  queryLen = 0;
  /**
   * Where the client's own bytes already spell an id list the way the backend body would
   * (digits and single commas, each followed by a space at most, nothing else; the backend
   * parses JSON, so the space is as good as none): [start, end) in `body`, inside the brackets, per
   * item (idSpan[4i], idSpan[4i+1]) and for the query; start -1 = not canonical (or not ids).
   * idSpan[4i+2] and [4i+3] are the arena offset and length the scanner gave the item: the
   * bytes stand for segment a only while aOff/aLen still say that.
   * The body writer copies these bytes instead of printing the ids again.
   */
  idSpan: Int32Array = new Int32Array(64).fill(-1);
  querySpanStart = -1;
  querySpanEnd = -1;
  /**
   * Bounds of every id in the arena, kept by the byte scanner (idStatsValid): a range check that
   * holds for the largest and the sign needs no second pass over the ids. idMax is the largest id,
   * or -1 when no id is at least 0 (negative ids are idNegative's to report).
   */
  idMax = -1;
  idNegative = false;
  idStatsValid = false;
  labels: Int32Array = new Int32Array(8);
  nLabels = 0;
  hasLabels = false;
  itemsPresent = false;
  applySoftmax = false;
  itemFirst = false;
  /** Model name as JSON string body bytes in `body` ([start, end)); -1 = absent ("default"). */
  modelStart = -1;
  modelEnd = -1;

  // ---- prompt token ids, resolved by the tokenize stage ----
  /** Query segment sent to the backend (may be empty when prompts are sent whole). */
  qRef: Int32Array = EMPTY_IDS;
  qOff = 0;
  qLen = 0;
  /** Up to two id segments per item; the backend body concatenates them. */
  aRef: Int32Array[] = [];
  aOff: Int32Array = new Int32Array(16);
  aLen: Int32Array = new Int32Array(16);
  bRef: Int32Array[] = [];
  bOff: Int32Array = new Int32Array(16);
  bLen: Int32Array = new Int32Array(16);
  /** Prompts go whole in the items (query sent as []), e.g. when a join was not exact. */
  wholePrompts = false;
  /** Tokenize-stage scratch: per-item state and the edge id that judges its join. */
  itemState: Uint8Array = new Uint8Array(16);
  itemEdge: Int32Array = new Int32Array(16);

  // ---- the items still to score, and results ----
  /** Indices of the items the backend must score (score-cache misses), in item order. */
  active: Int32Array = new Int32Array(16);
  nActive = 0;
  /** Score-cache keys, 16 bytes per item, and lookup results: the buffer holding each hit's value, and its bounds there. */
  cacheKeys: Uint8Array = new Uint8Array(256);
  cacheOut: Array<Buffer | null> = [];
  cacheStart: Int32Array = new Int32Array(16);
  cacheEnd: Int32Array = new Int32Array(16);
  /** Score-cache hit bits per item. */
  cacheHit: Uint8Array = new Uint8Array(16);
  /** Score rows as byte spans of a backend response (or a cache value), per item. */
  rowBuf: Buffer[] = [];
  rowStart: Int32Array = new Int32Array(16);
  rowEnd: Int32Array = new Int32Array(16);
  /** usage.prompt_tokens as SGLang would report it for this request (usage.ts); -1 with usageNull. */
  promptTokens = 0;
  /** A backend call of this request (or a cached entry) came without usage: report usage null. */
  usageNull = false;
  /** Per item, the tokens it adds to usage (usage.ts), read from score-cache hits; -1 = unknown. */
  itemTokens: Int32Array = new Int32Array(16);
  /** Query tokens stored with score-cache hits (multi-item usage); -1 = none seen. */
  cachedQueryTokens = -1;
  cacheHits = 0;
  tokenizeMs = 0;
  queueMs = 0;
  backendMs = 0;
  /** When the client stops waiting (performance.now() ms; Infinity: no deadline). */
  deadlineAt = Number.POSITIVE_INFINITY;
  priority: 'online' | 'nearline' = 'online';
  /** The /rank request a 'tokens' job was built from. */
  rankInput: RankInput | null = null;
  /**
   * The request as the client sent it, when that is SGLang's JSON (HTTP): what a backend whose
   * tokenizer differs from scorecar's gets, unchanged. Null: body is already such a request.
   */
  rawRequest: Buffer | null = null;
  rawLength = 0;
  /** Set when the request was relayed unchanged (backend tokenizer mismatch, or asIs). */
  relay: BackendReply | null = null;
  /**
   * The request uses a part of SGLang's scoring that scorecar does not compute (temperature,
   * token logprobs, embedding overrides, per-item labels, ...): it goes to the backend as sent.
   */
  asIs = false;
  /** The request's id (x-request-id): sent to SGLang on the job's own backend calls, and logged. */
  requestId = '';
  /** Tracing on: the request's span, parent of the stage spans. null: tracing off. */
  trace: RequestTrace | null = null;
  /** Tracing off: the client's traceparent, forwarded unchanged on the job's own backend calls. */
  traceparent: string | null = null;
  /** Cancels the job's backend calls when its client goes away or its deadline passes in flight. */
  readonly scope = new CancelScope();
  /**
   * Set by the in-flight deadline watch (deadline-watch.ts) before it cancels the scope, so that
   * cancellation is answered 504 whatever the clocks say by the time the call's failure arrives.
   */
  deadlineFired = false;
  /** Bound once: what the in-flight deadline watch calls (no closure per request). */
  readonly expire = (): void => {
    this.deadlineFired = true;
    this.scope.cancelAll();
  };
  /**
   * Buffers to hand back to their pools when the job ends, in held[0, nHeld): a scratch array
   * kept at its size (`length = 0` would drop its backing store, reallocated by the next request).
   */
  private readonly held: (Buffer | null)[] = [];
  private nHeld = 0;
  /** The most items reserved since the last reset: reset() clears only that far. */
  private used = 0;

  /** Makes room for n items, keeping what is already recorded. */
  reserve(n: number): void {
    if (n > this.used) this.used = n;
    if (this.itemSpans.length < 2 * n) this.itemSpans = growI32(this.itemSpans, 2 * n);
    if (this.idSpan.length < 4 * n) {
      const next = new Int32Array(grow(4 * n)).fill(-1);
      next.set(this.idSpan);
      this.idSpan = next;
    }
    if (this.idHash.length < 4 * (n + 1)) this.idHash = growI32(this.idHash, 4 * (n + 1));
    if (this.escaped.length < n + 1) {
      const next = new Uint8Array(grow(n + 1));
      next.set(this.escaped);
      this.escaped = next;
    }
    if (this.aOff.length < n) {
      this.aOff = growI32(this.aOff, n);
      this.aLen = growI32(this.aLen, n);
      this.bOff = growI32(this.bOff, n);
      this.bLen = growI32(this.bLen, n);
      this.rowStart = growI32(this.rowStart, n);
      this.rowEnd = growI32(this.rowEnd, n);
      this.cacheStart = growI32(this.cacheStart, n);
      this.cacheEnd = growI32(this.cacheEnd, n);
      this.itemTokens = growI32(this.itemTokens, n);
      this.itemEdge = growI32(this.itemEdge, n);
      const state = new Uint8Array(this.aOff.length);
      state.set(this.itemState);
      this.itemState = state;
      this.cacheHit = new Uint8Array(this.aOff.length);
      this.active = growI32(this.active, n);
    }
    if (this.cacheKeys.length < 16 * n) this.cacheKeys = new Uint8Array(grow(16 * n));
    while (this.aRef.length < n) {
      this.aRef.push(EMPTY_IDS);
      this.bRef.push(EMPTY_IDS);
      this.rowBuf.push(EMPTY);
      this.cacheOut.push(null);
    }
  }

  /** Marks every item as still to score. */
  selectAll(): void {
    this.reserve(this.n);
    for (let i = 0; i < this.n; i++) this.active[i] = i;
    this.nActive = this.n;
  }

  /** Appends one id to the arena. */
  pushId(v: number): void {
    if (this.arenaUsed === this.arena.length) this.arena = int32Pool.grow(this.arena, this.arenaUsed, this.arenaUsed + 1);
    this.arena[this.arenaUsed++] = v;
  }

  pushLabel(v: number): void {
    if (this.nLabels === this.labels.length) {
      const next = new Int32Array(this.labels.length * 2);
      next.set(this.labels);
      this.labels = next;
    }
    this.labels[this.nLabels++] = v;
  }

  /** Item i's ids as the client sent them (ids requests). */
  setItemIds(i: number, off: number, len: number): void {
    this.aOff[i] = off;
    this.aLen[i] = len;
  }

  reset(): void {
    this.kind = 'ids';
    this.n = 0;
    this.body = EMPTY;
    this.bodyLength = 0;
    this.queryKind = 'none';
    this.itemsKind = 'empty';
    this.queryStart = this.queryEnd = -1;
    this.textHash[0] = this.textHash[1] = 0;
    this.arenaUsed = 0;
    this.queryOff = this.queryLen = 0;
    this.querySpanStart = this.querySpanEnd = -1;
    this.idMax = -1;
    this.idNegative = false;
    this.idStatsValid = false;
    this.nLabels = 0;
    this.hasLabels = false;
    this.itemsPresent = false;
    this.applySoftmax = false;
    this.itemFirst = false;
    this.modelStart = this.modelEnd = -1;
    this.qRef = EMPTY_IDS;
    this.qOff = this.qLen = 0;
    // Drop references to shared cache arrays and backend buffers so they can be collected
    // (only as far as this request used them: a reset costs its own size, not the job's).
    const used = this.used;
    this.aRef.fill(EMPTY_IDS, 0, used);
    this.bRef.fill(EMPTY_IDS, 0, used);
    this.rowBuf.fill(EMPTY, 0, used);
    this.cacheOut.fill(null, 0, used);
    this.cacheHit.fill(0, 0, used);
    this.idSpan.fill(-1, 0, 4 * used);
    this.used = 0;
    this.wholePrompts = false;
    this.nActive = 0;
    if (this.arena.length > ARENA_KEEP) {
      // One huge request's ids are not kept for the next one.
      int32Pool.release(this.arena);
      this.arena = int32Pool.acquire(1024);
    }
    this.promptTokens = 0;
    this.usageNull = false;
    this.cachedQueryTokens = -1;
    this.cacheHits = 0;
    this.tokenizeMs = this.queueMs = this.backendMs = 0;
    if (this.relay !== null) bufferPool.release(this.relay.body);
    this.relay = null;
    this.asIs = false;
    this.rawRequest = null;
    this.rawLength = 0;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    this.deadlineFired = false;
    this.priority = 'online';
    this.rankInput = null;
    this.requestId = '';
    this.trace = null;
    this.traceparent = null;
    this.scope.reset();
    for (let i = 0; i < this.nHeld; i++) {
      bufferPool.release(this.held[i] as Buffer);
      this.held[i] = null;
    }
    this.nHeld = 0;
  }

  /** Keeps a pooled buffer (rows point into it) until the job ends. */
  hold(b: Buffer): void {
    if (this.nHeld === this.held.length) this.held.push(b);
    else this.held[this.nHeld] = b;
    this.nHeld++;
  }

  /** Whether the job's per-item arrays are small enough to keep pooled (see ScoreJobPool). */
  get poolable(): boolean {
    return this.aOff.length <= POOL_ITEMS && this.labels.length <= 1024;
  }

  cachedRow(i: number): boolean {
    return this.cacheHit[i] === 1;
  }

  /** Tokens of item i's prompt as the backend will count them (query + item). */
  promptLength(i: number): number {
    return (this.wholePrompts ? 0 : this.qLen) + (this.aLen[i] as number) + (this.bLen[i] as number);
  }
}

function growI32(a: Int32Array, n: number): Int32Array {
  const next = new Int32Array(grow(n));
  next.set(a);
  return next;
}

function grow(n: number): number {
  let m = 16;
  while (m < n) m *= 2;
  return m;
}

const EMPTY = Buffer.alloc(0);
export const EMPTY_IDS = new Int32Array(0);
/** Ids a pooled job's arena may keep between requests (256 KiB). */
const ARENA_KEEP = 65536;
/** Items a pooled job may have room for (about 100 KiB of per-item arrays). */
const POOL_ITEMS = 1024;
/** Jobs one pool keeps: with the two bounds above, at most about 22 MiB per pool. */
const POOL_JOBS = 64;

/**
 * A free list of jobs, bounded in bytes: it keeps at most POOL_JOBS jobs, none with room for
 * more than POOL_ITEMS items or an arena over ARENA_KEEP ids. A job that grew past those for one
 * huge request is dropped (the GC takes it) rather than kept inflated for every later one.
 */
export class ScoreJobPool {
  private readonly free: ScoreJob[] = [];

  acquire(): ScoreJob {
    return this.free.pop() ?? new ScoreJob();
  }

  release(job: ScoreJob): void {
    job.reset();
    if (this.free.length < POOL_JOBS && job.poolable) this.free.push(job);
  }

  get size(): number {
    return this.free.length;
  }
}
