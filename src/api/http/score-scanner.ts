import { isUtf8 } from 'node:buffer';
import { int32Pool } from '../../mem/buffer-pool.js';
import { hashBytes, hashOut } from '../../mem/hash.js';
import { idScan, idScanList, idScanOut, idScanReset } from '../../mem/id-scan.js';
import {
  COLON,
  COMMA,
  LBRACE,
  LBRACKET,
  QUOTE,
  RBRACE,
  RBRACKET,
  bytesEqual,
  intOut,
  scanFalse,
  scanFlags,
  scanInt32,
  scanNull,
  scanString,
  scanTrue,
  skipValue,
  skipWs,
} from '../../mem/json-bytes.js';
import type { ScoreJob } from '../../pipeline/score-job.js';

/**
 * The fast path for a /v1/score body: one pass over the bytes fills a ScoreJob. Ids go straight
 * into the job's Int32Array arena and texts stay as spans of the body (hashed for the caches),
 * so no JS object, array or string is built per item.
 *
 * It accepts the canonical form clients send: JSON ints, true/false, strings, no duplicate keys.
 * Anything else (pydantic's lax coercions, errors) returns false, and the caller takes the slow
 * path, which parses with JSON.parse and validates exactly like SGLang.
 */

const K_QUERY = Buffer.from('query');
const K_ITEMS = Buffer.from('items');
const K_LABELS = Buffer.from('label_token_ids');
const K_SOFTMAX = Buffer.from('apply_softmax');
const K_ITEM_FIRST = Buffer.from('item_first');
const K_MODEL = Buffer.from('model');

/**
 * ScoringRequest fields that scorecar does not compute itself (protocol.py:1489-1513 in SGLang
 * 0.5.23): a body that names one goes to the slow path, which decides whether it is sent as is.
 */
const SLOW_KEYS = [
  'temperature',
  'return_token_logprobs',
  'return_pooled_hidden_states',
  'embed_override_token_id',
  'query_embed_overrides',
  'item_embed_overrides',
  'score_extraction_token',
].map((k) => Buffer.from(k));

function isSlowKey(b: Buffer, ks: number, ke: number): boolean {
  for (const key of SLOW_KEYS) if (bytesEqual(b, ks, ke, key)) return true;
  return false;
}

/** Set by scanScoreBody: it stopped at item maxItems + 1 (the body is refused, not parsed). */
export const scanOut = { tooManyItems: false };

const F_QUERY = 1;
const F_ITEMS = 2;
const F_LABELS = 4;
const F_SOFTMAX = 8;
const F_ITEM_FIRST = 16;
const F_MODEL = 32;

/** Scans a string at p for text index t (0 = query, i + 1 = item i); records its span (and the query's hash). */
function textAt(job: ScoreJob, b: Buffer, p: number, end: number, t: number): number {
  const q = scanString(b, p, end);
  if (q < 0) return -1;
  // orjson refuses lone surrogates: strings with a \uD800-\uDFFF escape take the slow path, which pairs them as orjson does.
  if (scanFlags.surrogate) return -1;
  job.escaped[t] = scanFlags.escaped ? 1 : 0;
  if (t === 0) {
    // The coalescer groups requests by this; items are identified by keyed hashes later.
    hashBytes(b, p + 1, q - 1);
    job.textHash[0] = hashOut[0] as number;
    job.textHash[1] = hashOut[1] as number;
    job.queryStart = p + 1;
    job.queryEnd = q - 1;
  } else {
    job.itemSpans[2 * (t - 1)] = p + 1;
    job.itemSpans[2 * (t - 1) + 1] = q - 1;
  }
  return q;
}

/** Set by idsAt: the list's bytes were canonical (digits, commas, a space after a comma at most), see ScoreJob.idSpan. */
let idsCanonical = false;

/** Whether canonical lists go to id-scan.ts's WebAssembly loop (tests and bench:scanner turn it off to compare). */
let wasmIds = true;
export function useWasmIdScan(on: boolean): void {
  wasmIds = on;
}

/**
 * The list at p (just past '[') when its bytes are canonical: unsigned ints without leading
 * zeros, one comma between them, optionally followed by one space, no other spaces. This is what
 * clients' JSON encoders write (JSON.stringify: "1,2"; Python's json.dumps: "1, 2"); id-scan.ts
 * reads it in WebAssembly and idsAtCanonicalJs takes what that declines. Returns the index past
 * ']', or -1 for anything else, which idsAtGeneral then reads again (or refuses).
 */
function idsAtCanonical(job: ScoreJob, b: Buffer, p: number, end: number): number {
  const q = wasmIds ? idScanList(b, p, end) : -1;
  if (q >= 0) {
    const n = idScan.count;
    const used = job.arenaUsed;
    let arena = job.arena;
    if (used + n > arena.length) arena = job.arena = int32Pool.grow(arena, used, used + n);
    for (let i = 0; i < n; i++) arena[used + i] = idScanOut[i] as number;
    job.arenaUsed = used + n;
    if (idScan.max > job.idMax) job.idMax = idScan.max;
    return q;
  }
  return idsAtCanonicalJs(job, b, p, end);
}

/** idsAtCanonical in JavaScript, for a list id-scan.ts leaves (not canonical, or longer than its window). */
function idsAtCanonicalJs(job: ScoreJob, b: Buffer, p: number, end: number): number {
  if (p < end && b[p] === RBRACKET) return p + 1;
  let arena = job.arena;
  let used = job.arenaUsed;
  let max = job.idMax;
  for (;;) {
    if (p >= end) return -1;
    let d = (b[p] as number) - 0x30;
    // One unsigned compare per byte: anything but '0'..'9' wraps above 9.
    if (d >>> 0 > 9) return -1;
    const first = p;
    let v = d;
    p++;
    while (p < end && (d = (b[p] as number) - 0x30) >>> 0 <= 9) {
      v = v * 10 + d;
      p++;
    }
    // No leading zeros, at most 10 digits, within int32 (longer runs are rejected by their count,
    // so v's precision past 2^53 never matters).
    const digits = p - first;
    if ((v === 0 ? digits > 1 : b[first] === 0x30) || digits > 10 || v > 2147483647) return -1;
    if (used === arena.length) arena = job.arena = int32Pool.grow(arena, used, used + 1);
    arena[used++] = v;
    if (v > max) max = v;
    if (p >= end) return -1;
    const c = b[p] as number;
    if (c === COMMA) {
      p++;
      // One space after a comma, as Python's json.dumps writes lists.
      if (p < end && b[p] === 0x20) p++;
      continue;
    }
    if (c !== RBRACKET) return -1;
    job.arenaUsed = used;
    job.idMax = max;
    return p + 1;
  }
}

/** Any JSON int list (spaces, signs); returns the index past ']' or -1. */
function idsAtGeneral(job: ScoreJob, b: Buffer, p: number, end: number): number {
  p = skipWs(b, p + 1, end);
  if (b[p] === RBRACKET) return p + 1;
  for (;;) {
    p = scanInt32(b, p, end);
    if (p < 0) return -1;
    const v = intOut.value;
    job.pushId(v);
    if (v > job.idMax) job.idMax = v;
    if (v < 0) job.idNegative = true;
    p = skipWs(b, p, end);
    const c = b[p];
    if (c === COMMA) p = skipWs(b, p + 1, end);
    else if (c === RBRACKET) return p + 1;
    else return -1;
  }
}

/** Scans an int array at p ('[') into the arena; returns the index past ']' or -1. */
function idsAt(job: ScoreJob, b: Buffer, p: number, end: number): number {
  const used = job.arenaUsed;
  const q = idsAtCanonical(job, b, p + 1, end);
  idsCanonical = q >= 0;
  if (q >= 0) return q;
  job.arenaUsed = used;
  return idsAtGeneral(job, b, p, end);
}

function itemsAt(job: ScoreJob, b: Buffer, p: number, end: number, maxItems: number): number {
  if (b[p] === QUOTE) {
    // A lone string is one item (or none when empty).
    job.reserve(1);
    const q = textAt(job, b, p, end, 1);
    if (q < 0) return -1;
    job.n = q - p > 2 ? 1 : 0;
    job.itemsKind = job.n > 0 ? 'text' : 'empty';
    job.itemsPresent = true;
    return q;
  }
  if (b[p] !== LBRACKET) return -1;
  job.itemsPresent = true;
  p = skipWs(b, p + 1, end);
  if (b[p] === RBRACKET) {
    job.n = 0;
    job.itemsKind = 'empty';
    return p + 1;
  }
  const text = b[p] === QUOTE;
  if (!text && b[p] !== LBRACKET) return -1;
  job.itemsKind = text ? 'text' : 'ids';
  let n = 0;
  for (;;) {
    // Counted as they are met: item maxItems + 1 stops the scan before it costs anything.
    if (n === maxItems) {
      scanOut.tooManyItems = true;
      return -1;
    }
    job.reserve(n + 1);
    if (text) {
      if (b[p] !== QUOTE) return -1;
      p = textAt(job, b, p, end, n + 1);
    } else {
      if (b[p] !== LBRACKET) return -1;
      const off = job.arenaUsed;
      const open = p;
      p = idsAt(job, b, p, end);
      job.setItemIds(n, off, job.arenaUsed - off);
      if (idsCanonical && p - open > 2) {
        job.idSpan[4 * n] = open + 1;
        job.idSpan[4 * n + 1] = p - 1;
        job.idSpan[4 * n + 2] = off;
        job.idSpan[4 * n + 3] = job.arenaUsed - off;
      }
    }
    if (p < 0) return -1;
    n++;
    p = skipWs(b, p, end);
    const c = b[p];
    if (c === COMMA) p = skipWs(b, p + 1, end);
    else if (c === RBRACKET) {
      job.n = n;
      return p + 1;
    } else return -1;
  }
}

/**
 * Whether b[0, end) is valid UTF-8. isUtf8 takes no range, and a view of the range is ~95 B of
 * heap per request (allocation profile of the gc-free load); with a spare tail, zeros past the
 * body (valid UTF-8 that cannot complete a sequence the body leaves open) let it check the whole
 * buffer instead, at most about twice the body for a pooled buffer (its size class).
 */
function bodyIsUtf8(b: Buffer, end: number, spareTail: boolean): boolean {
  if (end === b.length) return isUtf8(b);
  if (spareTail && b.length - end <= Math.max(end, 4096)) {
    b.fill(0, end);
    return isUtf8(b);
  }
  return isUtf8(b.subarray(0, end));
}

/**
 * Fills `job` from body[0, end). Returns false when the body needs the slow path, or when it
 * holds more than maxItems items (scanOut.tooManyItems: refuse it, do not parse it); the job may
 * then hold partial state and must be reset. `spareTail`: b[end, b.length) is the caller's
 * scratch (a pooled body buffer's unused end), which the check of the body's UTF-8 may overwrite.
 */
export function scanScoreBody(b: Buffer, end: number, job: ScoreJob, maxItems = Number.POSITIVE_INFINITY, spareTail = false): boolean {
  // id-scan.ts's window must not outlive this body: pooled buffers come back with other bytes.
  idScanReset();
  const ok = scanBody(b, end, job, maxItems, spareTail);
  idScanReset();
  return ok;
}

function scanBody(b: Buffer, end: number, job: ScoreJob, maxItems: number, spareTail: boolean): boolean {
  scanOut.tooManyItems = false;
  job.body = b;
  job.bodyLength = end;
  job.idStatsValid = true;
  // orjson refuses a body with any invalid UTF-8 (even inside a string); so does the slow path.
  if (!bodyIsUtf8(b, end, spareTail)) return false;
  let seen = 0;
  let p = skipWs(b, 0, end);
  if (b[p] !== LBRACE) return false;
  p = skipWs(b, p + 1, end);
  if (b[p] === RBRACE) return skipWs(b, p + 1, end) === end;
  for (;;) {
    if (b[p] !== QUOTE) return false;
    const ks = p + 1;
    const ke = scanString(b, p, end);
    if (ke < 0 || scanFlags.escaped) return false;
    p = skipWs(b, ke, end);
    if (b[p] !== COLON) return false;
    p = skipWs(b, p + 1, end);
    const k = ke - 1;
    if (bytesEqual(b, ks, k, K_QUERY)) {
      if (seen & F_QUERY) return false;
      seen |= F_QUERY;
      if (b[p] === QUOTE) {
        p = textAt(job, b, p, end, 0);
        job.queryKind = 'text';
      } else if (b[p] === LBRACKET) {
        job.queryOff = job.arenaUsed;
        const open = p;
        p = idsAt(job, b, p, end);
        job.queryLen = job.arenaUsed - job.queryOff;
        job.queryKind = 'ids';
        if (idsCanonical && p - open > 2) {
          job.querySpanStart = open + 1;
          job.querySpanEnd = p - 1;
        }
      } else p = scanNull(b, p, end);
    } else if (bytesEqual(b, ks, k, K_ITEMS)) {
      if (seen & F_ITEMS) return false;
      seen |= F_ITEMS;
      if (b[p] === 0x6e) p = scanNull(b, p, end);
      else p = itemsAt(job, b, p, end, maxItems);
    } else if (bytesEqual(b, ks, k, K_LABELS)) {
      if (seen & F_LABELS) return false;
      seen |= F_LABELS;
      if (b[p] === 0x6e) p = scanNull(b, p, end);
      else if (b[p] === LBRACKET) {
        job.hasLabels = true;
        p = skipWs(b, p + 1, end);
        if (b[p] === RBRACKET) p++;
        else {
          for (;;) {
            p = scanInt32(b, p, end);
            if (p < 0) return false;
            job.pushLabel(intOut.value);
            p = skipWs(b, p, end);
            if (b[p] === COMMA) p = skipWs(b, p + 1, end);
            else if (b[p] === RBRACKET) {
              p++;
              break;
            } else return false;
          }
        }
      } else return false;
    } else if (bytesEqual(b, ks, k, K_SOFTMAX) || bytesEqual(b, ks, k, K_ITEM_FIRST)) {
      const flag = k - ks === K_SOFTMAX.length ? F_SOFTMAX : F_ITEM_FIRST;
      if (seen & flag) return false;
      seen |= flag;
      let v: boolean;
      if (b[p] === 0x74) {
        p = scanTrue(b, p, end);
        v = true;
      } else if (b[p] === 0x66) {
        p = scanFalse(b, p, end);
        v = false;
      } else return false;
      if (flag === F_SOFTMAX) job.applySoftmax = v;
      else job.itemFirst = v;
    } else if (bytesEqual(b, ks, k, K_MODEL)) {
      if (seen & F_MODEL) return false;
      seen |= F_MODEL;
      if (b[p] !== QUOTE) return false;
      const q = scanString(b, p, end);
      if (q < 0) return false;
      job.modelStart = p + 1;
      job.modelEnd = q - 1;
      p = q;
    } else if (isSlowKey(b, ks, k)) {
      return false;
    } else {
      // Unknown fields are ignored, as pydantic does, but must still be valid JSON.
      p = skipValue(b, p, end);
    }
    if (p < 0) return false;
    p = skipWs(b, p, end);
    if (b[p] === COMMA) {
      p = skipWs(b, p + 1, end);
      continue;
    }
    if (b[p] !== RBRACE) return false;
    p = skipWs(b, p + 1, end);
    break;
  }
  return p === end;
}
