import type { ScoreCache } from '../cache/score-cache.js';
import type { KeyedHash } from '../mem/keyed-hash.js';
import type { ScoreJob } from './score-job.js';
import { itemShare } from './usage.js';

/**
 * Score-cache keys, built from what the client sent, so a hit needs no tokenizing: the backend
 * identity (model path, weight version, scoring mode, emulator or not), the kind of request, the
 * labels and flags, the query as sent and the item as sent. Every part is folded in with a keyed
 * 128-bit hash (mem/keyed-hash.ts), so keys cannot be predicted or collided without the
 * deployment secret.
 */
export interface CacheContext {
  /** Keyed hash lanes of the backend identity. */
  lanes: Int32Array;
}

export function backendContext(hasher: KeyedHash, modelPath: string, weightVersion: string, mode: string, emulator: boolean): CacheContext {
  const lanes = new Int32Array(4);
  hasher.text('key', JSON.stringify(['backend', modelPath, weightVersion, mode, emulator]), lanes, 0);
  return { lanes };
}

/**
 * Keyed identity of each text the client sent, into job.idHash (0 = query, i + 1 = item i):
 * the raw JSON string bytes for text requests, the ids' bytes for ids requests. /rank jobs get
 * theirs in identifyRank.
 */
export function identify(job: ScoreJob, hasher: KeyedHash): void {
  const out = job.idHash;
  if (job.kind === 'text') {
    hasher.stage(job.body, job.bodyLength);
    try {
      if (job.queryStart >= 0) hasher.bytes('text', job.body, job.queryStart, job.queryEnd, out, 0);
      else hasher.bytes('text', job.body, 0, 0, out, 0);
      const spans = job.itemSpans;
      for (let i = 0; i < job.n; i++) hasher.bytes('text', job.body, spans[2 * i] as number, spans[2 * i + 1] as number, out, 4 * (i + 1));
    } finally {
      hasher.unstage();
    }
  } else if (job.kind === 'ids') {
    hasher.ints(job.arena, job.queryOff, job.queryOff + job.queryLen, out, 0);
    for (let i = 0; i < job.n; i++) {
      const off = job.aOff[i] as number;
      hasher.ints(job.arena, off, off + (job.aLen[i] as number), out, 4 * (i + 1));
    }
  }
}

/** Scratch for key inputs: [request-wide digest (16)][item identity (16)], and the request-wide input. */
let scratch = Buffer.allocUnsafeSlow(256);
const pair = Buffer.allocUnsafeSlow(32);

/** Writes every item's 16-byte key into job.cacheKeys. */
export function computeKeys(job: ScoreJob, ctx: CacheContext, mis: boolean, hasher: KeyedHash): void {
  // Request-wide part: backend identity, kind, flags, labels, query. item_first only matters outside MIS.
  const need = 16 + 4 + 4 + 4 * job.nLabels + 16;
  if (scratch.length < need) scratch = Buffer.allocUnsafeSlow(2 * need);
  let at = 0;
  for (let k = 0; k < 4; k++) at = scratch.writeInt32LE(ctx.lanes[k] as number, at);
  scratch[at++] = job.kind === 'text' ? 0x74 : job.kind === 'ids' ? 0x69 : 0x72;
  scratch[at++] = job.applySoftmax ? 1 : 0;
  scratch[at++] = !mis && job.itemFirst ? 1 : 0;
  scratch[at++] = 0;
  at = scratch.writeInt32LE(job.nLabels, at);
  for (let l = 0; l < job.nLabels; l++) at = scratch.writeInt32LE(job.labels[l] as number, at);
  const h = job.idHash;
  for (let k = 0; k < 4; k++) at = scratch.writeInt32LE(h[k] as number, at);
  hasher.digestInto('key', scratch, 0, at, pair, 0);
  // Per item: keyed hash of (request-wide digest, item identity); 32 bytes, never the length of a
  // request-wide input (at least 44 bytes), so the two kinds of input cannot meet.
  const keys = job.cacheKeys;
  for (let i = 0; i < job.n; i++) {
    const o = 4 * (i + 1);
    pair.writeInt32LE(h[o] as number, 16);
    pair.writeInt32LE(h[o + 1] as number, 20);
    pair.writeInt32LE(h[o + 2] as number, 24);
    pair.writeInt32LE(h[o + 3] as number, 28);
    hasher.digestInto('key', pair, 0, 32, keys, 16 * i);
  }
}

/**
 * Looks every item up in one round trip. Hits become the item's row (the cached row bytes, past
 * the entry's token counts) and leave the active set; only misses go on to tokenizing and the
 * GPU. Returns the hit count (a value too short to be an entry counts as a miss).
 */
export async function lookupScores(job: ScoreJob, cache: ScoreCache): Promise<number> {
  const out = job.cacheOut;
  await cache.getMany(job.cacheKeys, job.n, out);
  // getMany's values are Buffers of their own: each spans all of its buffer.
  for (let i = 0; i < job.n; i++) {
    const v = out[i];
    if (v === null || v === undefined) continue;
    job.cacheStart[i] = 0;
    job.cacheEnd[i] = v.length;
  }
  return takeLookup(job);
}

/**
 * lookupScores without a promise where the cache answers in process (lookupNow); -1 where it
 * does not (the caller awaits lookupScores instead).
 */
export function lookupScoresNow(job: ScoreJob, cache: ScoreCache): number {
  if (cache.lookupNow === undefined) return -1;
  cache.lookupNow(job.cacheKeys, job.n, job.cacheOut, job.cacheStart, job.cacheEnd);
  return takeLookup(job);
}

/** The looked-up values onto the job: hits' rows in place, misses left active. Returns the hits. */
function takeLookup(job: ScoreJob): number {
  const n = job.n;
  const out = job.cacheOut;
  let k = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const v = out[i];
    const s = job.cacheStart[i] as number;
    const e = job.cacheEnd[i] as number;
    // [int32 item tokens][int32 query tokens][row bytes]: anything shorter is not an entry.
    if (v !== null && v !== undefined && e - s > ENTRY_HEADER) {
      job.rowBuf[i] = v;
      job.rowStart[i] = s + ENTRY_HEADER;
      job.rowEnd[i] = e;
      job.itemTokens[i] = v.readInt32LE(s);
      const q = v.readInt32LE(s + 4);
      if (q >= 0) job.cachedQueryTokens = q;
      job.cacheHit[i] = 1;
      out[i] = null;
      hits++;
    } else {
      out[i] = null;
      job.cacheHit[i] = 0;
      job.active[k++] = i;
    }
  }
  job.nActive = k;
  job.cacheHits = hits;
  return hits;
}

/** Bytes before the row in a cache entry: the item's usage share and the query's tokens. */
export const ENTRY_HEADER = 8;

/**
 * Stores the rows the backend just produced with the token counts usage needs (usage.ts), so a
 * hit reports what the backend would (fire and forget; a cache outage only costs hits).
 */
export function storeScores(job: ScoreJob, cache: ScoreCache, mis: boolean): void {
  const m = job.nActive;
  if (m === 0) return;
  let bytes = 0;
  for (let k = 0; k < m; k++) {
    const i = job.active[k] as number;
    bytes += ENTRY_HEADER + (job.rowEnd[i] as number) - (job.rowStart[i] as number);
  }
  // The entries end to end in reused scratch: the cache copies what it keeps (memory) or
  // serialises now (Redis), so nothing here outlives the call.
  // A request over the scratch's cap gets buffers of its own, so that one large request does not
  // keep its size allocated for the life of the process.
  const own = bytes > SCRATCH_MAX_BYTES || m > SCRATCH_MAX_ROWS;
  if (!own && rows.length < bytes) rows = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX_BYTES, Math.max(2 * rows.length, bytes)));
  if (!own && whichScratch.length < m) {
    whichScratch = new Int32Array(Math.min(SCRATCH_MAX_ROWS, 2 * m));
    endsScratch = new Int32Array(whichScratch.length);
  }
  const slab = own ? Buffer.allocUnsafe(bytes) : rows;
  const which = own ? new Int32Array(m) : whichScratch;
  const ends = own ? new Int32Array(m) : endsScratch;
  const q = mis && !job.usageNull ? job.qLen : -1;
  let at = 0;
  for (let k = 0; k < m; k++) {
    const i = job.active[k] as number;
    which[k] = i;
    slab.writeInt32LE(job.usageNull ? -1 : itemShare(job, i, mis), at);
    slab.writeInt32LE(q, at + 4);
    at += ENTRY_HEADER;
    // A row is tens of bytes: a byte loop, where Buffer#copy of part of a buffer allocates a view.
    const row = job.rowBuf[i] as Buffer;
    const end = job.rowEnd[i] as number;
    for (let r = job.rowStart[i] as number; r < end; r++) slab[at++] = row[r] as number;
    ends[k] = at;
  }
  void cache.setRows(job.cacheKeys, which, m, slab, ends);
}

/** storeScores' scratch: the entries' bytes, which item each is, where each ends; grown up to the caps. */
const SCRATCH_MAX_BYTES = 1 << 20;
const SCRATCH_MAX_ROWS = 1 << 14;
let rows = Buffer.allocUnsafeSlow(4096);
let whichScratch = new Int32Array(64);
let endsScratch = new Int32Array(64);
