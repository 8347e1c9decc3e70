import type { ScoreCache } from '../cache/score-cache.js';
import { finalize, hashInts, hashOut, hashString, mixInt } from '../mem/hash.js';
import type { ScoreJob } from './score-job.js';

/**
 * Score-cache keys, built from what the client sent, so a hit needs no tokenizing: the model
 * identity (path + weight version) and scoring mode, the template (or "raw" /v1/score), the
 * labels and flags, the prefix as sent and the item as sent. 128 bits per item.
 */
export interface CacheContext {
  /** Lanes of hash(model path, weight version, scoring mode). */
  modelA: number;
  modelB: number;
  /** Lanes of the template identity; 0, 0 for raw /v1/score. */
  templateA: number;
  templateB: number;
}

export function modelLanes(modelPath: string, weightVersion: string, mode: string): [number, number] {
  hashString(`${modelPath}\u0000${weightVersion}\u0000${mode}`);
  return [hashOut[0] as number, hashOut[1] as number];
}

/** Identity hashes of an ids request (text requests get theirs from the byte scanner). */
export function identifyIds(job: ScoreJob): void {
  hashInts(job.arena, job.queryOff, job.queryOff + job.queryLen, 0x1d5, 0x2e6);
  job.textHash[0] = hashOut[0] as number;
  job.textHash[1] = hashOut[1] as number;
  for (let i = 0; i < job.n; i++) {
    const off = job.aOff[i] as number;
    hashInts(job.arena, off, off + (job.aLen[i] as number), 0x1d5, 0x2e6);
    job.textHash[2 * i + 2] = hashOut[0] as number;
    job.textHash[2 * i + 3] = hashOut[1] as number;
  }
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** Writes every item's 16-byte key into job.cacheKeys. */
export function computeKeys(job: ScoreJob, ctx: CacheContext, mis: boolean): void {
  // Request-wide part: context, kind, labels, flags, prefix. item_first only matters outside MIS.
  let a = mixInt(ctx.modelA ^ ctx.templateA, job.kind === 'text' ? 0x74 : job.kind === 'ids' ? 0x69 : 0x72);
  let b = mixInt(ctx.modelB ^ ctx.templateB, job.applySoftmax ? 0x53 : 0x4e);
  for (let l = 0; l < job.nLabels; l++) {
    a = mixInt(a, job.labels[l] as number);
    b = mixInt(b, (job.labels[l] as number) ^ 0x5bd1e995);
  }
  a = mixInt(a, job.nLabels);
  b = mixInt(b, !mis && job.itemFirst ? 1 : 0);
  a = mixInt(a, job.textHash[0] as number);
  b = mixInt(b, job.textHash[1] as number);
  const keys = job.cacheKeys;
  for (let i = 0; i < job.n; i++) {
    const ia = job.textHash[2 * i + 2] as number;
    const ib = job.textHash[2 * i + 3] as number;
    const at = 16 * i;
    put32(keys, at, finalize(mixInt(a, ia)));
    put32(keys, at + 4, finalize(mixInt(b, ib)));
    put32(keys, at + 8, finalize(mixInt(a ^ 0x27d4eb2f, ib)));
    put32(keys, at + 12, finalize(mixInt(b ^ 0x165667b1, ia)));
  }
}

/**
 * Looks every item up in one round trip. Hits become the item's row (the cached row bytes) and
 * leave the active set; only misses go on to tokenizing and the GPU. Returns the hit count.
 */
export async function lookupScores(job: ScoreJob, cache: ScoreCache): Promise<number> {
  const n = job.n;
  const out = job.cacheOut;
  const hits = await cache.getMany(job.cacheKeys, n, out);
  job.cacheHits = hits;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = out[i];
    if (v !== null && v !== undefined) {
      job.rowBuf[i] = v;
      job.rowStart[i] = 0;
      job.rowEnd[i] = v.length;
      job.cacheHit[i] = 1;
      out[i] = null;
    } else {
      job.cacheHit[i] = 0;
      job.active[k++] = i;
    }
  }
  job.nActive = k;
  return hits;
}

/** Stores the rows the backend just produced (fire and forget; a cache outage only costs hits). */
export function storeScores(job: ScoreJob, cache: ScoreCache): void {
  const m = job.nActive;
  if (m === 0) return;
  const which = new Int32Array(m);
  const values: Buffer[] = new Array(m);
  for (let k = 0; k < m; k++) {
    const i = job.active[k] as number;
    which[k] = i;
    // The cache keeps its own copy (memory) or serialises now (Redis); a view is enough.
    values[k] = (job.rowBuf[i] as Buffer).subarray(job.rowStart[i] as number, job.rowEnd[i] as number);
  }
  void cache.setMany(job.cacheKeys, which, m, values);
}
