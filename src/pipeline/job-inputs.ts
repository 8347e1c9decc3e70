import { int32Pool } from '../mem/buffer-pool.js';
import { hashBytes, hashOut } from '../mem/hash.js';
import type { ScoreJob } from './score-job.js';

/**
 * Fills a job from values that are already decoded (the JSON slow path, gRPC messages). Texts are
 * stored as JSON string literals in one fresh body buffer, so downstream stages see the same
 * spans-and-hashes shape as bodies read by the byte scanner.
 */
export function setTextInputs(job: ScoreJob, query: string | null, items: readonly string[], model: string | null): void {
  const literals: string[] = [];
  if (query !== null) literals.push(JSON.stringify(query));
  for (const it of items) literals.push(JSON.stringify(it));
  if (model !== null) literals.push(JSON.stringify(model));
  const body = Buffer.from(literals.join(''), 'utf8');
  job.body = body;
  job.bodyLength = body.length;
  job.reserve(Math.max(1, items.length));
  let at = 0;
  let k = 0;
  const next = (): [number, number] => {
    const lit = literals[k++] as string;
    const len = Buffer.byteLength(lit);
    const span: [number, number] = [at + 1, at + len - 1];
    at += len;
    return span;
  };
  const record = (t: number, s: number, e: number): void => {
    if (t === 0) {
      hashBytes(body, s, e);
      job.textHash[0] = hashOut[0] as number;
      job.textHash[1] = hashOut[1] as number;
    }
    job.escaped[t] = body.indexOf(0x5c, s) >= 0 && body.indexOf(0x5c, s) < e ? 1 : 0;
  };
  if (query !== null) {
    const [s, e] = next();
    record(0, s, e);
    job.queryStart = s;
    job.queryEnd = e;
    job.queryKind = 'text';
  }
  job.n = items.length;
  job.itemsPresent = true;
  job.itemsKind = items.length > 0 ? 'text' : 'empty';
  for (let i = 0; i < items.length; i++) {
    const [s, e] = next();
    record(i + 1, s, e);
    job.itemSpans[2 * i] = s;
    job.itemSpans[2 * i + 1] = e;
  }
  if (model !== null) {
    const [s, e] = next();
    job.modelStart = s;
    job.modelEnd = e;
  }
}

/** Ids for query and items, copied into the job's arena. */
export function setIdInputs(job: ScoreJob, query: ArrayLike<number> | null, items: ReadonlyArray<ArrayLike<number>>): void {
  job.reserve(Math.max(1, items.length));
  if (query !== null) {
    job.queryOff = job.arenaUsed;
    for (let i = 0; i < query.length; i++) job.pushId(query[i] as number);
    job.queryLen = query.length;
    job.queryKind = 'ids';
  }
  job.n = items.length;
  job.itemsPresent = true;
  job.itemsKind = items.length > 0 ? 'ids' : 'empty';
  for (let i = 0; i < items.length; i++) {
    const row = items[i] as ArrayLike<number>;
    const off = job.arenaUsed;
    for (let j = 0; j < row.length; j++) job.pushId(row[j] as number);
    job.setItemIds(i, off, row.length);
  }
}

/**
 * Ids for query and items from one packed block (gRPC PackedTokenIds): item i is the lengths[i]
 * ids that follow items 0..i-1. The block is copied into the arena in one go, so a pre-tokenized
 * request costs no per-item arrays. The caller has checked that the lengths add up to ids.length.
 */
export function setPackedIdInputs(job: ScoreJob, query: ArrayLike<number>, ids: ArrayLike<number>, lengths: ArrayLike<number>): void {
  const n = lengths.length;
  job.reserve(Math.max(1, n));
  job.queryOff = job.arenaUsed;
  for (let i = 0; i < query.length; i++) job.pushId(query[i] as number);
  job.queryLen = query.length;
  job.queryKind = 'ids';
  const base = job.arenaUsed;
  if (job.arena.length < base + ids.length) job.arena = int32Pool.grow(job.arena, base, base + ids.length);
  job.arena.set(ids, base);
  job.arenaUsed = base + ids.length;
  job.n = n;
  job.itemsPresent = true;
  job.itemsKind = n > 0 ? 'ids' : 'empty';
  let off = base;
  for (let i = 0; i < n; i++) {
    const len = lengths[i] as number;
    job.setItemIds(i, off, len);
    off += len;
  }
}

/**
 * Text inputs for APIs whose requests are not JSON (gRPC). Like setTextInputs, but job.body is
 * then a complete SGLang /v1/score request holding the same string literals: when the backend
 * tokenizes differently from scorecar, the pipeline relays job.body as it is, so it must be a
 * request SGLang accepts. Spans, hashes and escape bits are those setTextInputs computed, moved.
 */
export function setTextRequest(
  job: ScoreJob,
  query: string,
  items: readonly string[],
  model: string | null,
  labels: ArrayLike<number>,
  applySoftmax: boolean,
  itemFirst: boolean,
): void {
  setTextInputs(job, query, items, model);
  const lit = job.body;
  let labelText = '';
  for (let i = 0; i < labels.length; i++) labelText += (i > 0 ? ',' : '') + String(labels[i]);
  const head = Buffer.from('{"query":');
  const mid = Buffer.from(`],"label_token_ids":[${labelText}],"apply_softmax":${applySoftmax},"item_first":${itemFirst}`);
  // Layout: head, query literal, ',"items":[', item literals joined by ',', mid, [',"model":' literal], '}'.
  const itemsOpen = Buffer.from(',"items":[');
  const modelKey = Buffer.from(',"model":');
  const litLen = job.bodyLength;
  const size = head.length + itemsOpen.length + Math.max(0, items.length - 1) + mid.length + (model !== null ? modelKey.length : 0) + 1 + litLen;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  const put = (b: Buffer): void => {
    b.copy(body, at);
    at += b.length;
  };
  // Copies the literal around content span [s, e) of the old body; returns the shift applied.
  const move = (s: number, e: number): number => {
    const shift = at - (s - 1);
    lit.copy(body, at, s - 1, e + 1);
    at += e - s + 2;
    return shift;
  };
  put(head);
  const qs = move(job.queryStart, job.queryEnd);
  job.queryStart += qs;
  job.queryEnd += qs;
  put(itemsOpen);
  for (let i = 0; i < items.length; i++) {
    if (i > 0) body[at++] = 0x2c;
    const shift = move(job.itemSpans[2 * i] as number, job.itemSpans[2 * i + 1] as number);
    job.itemSpans[2 * i] += shift;
    job.itemSpans[2 * i + 1] += shift;
  }
  put(mid);
  if (model !== null) {
    put(modelKey);
    const ms = move(job.modelStart, job.modelEnd);
    job.modelStart += ms;
    job.modelEnd += ms;
  }
  body[at++] = 0x7d;
  job.body = body;
  job.bodyLength = at;
  setLabels(job, labels);
  job.applySoftmax = applySoftmax;
  job.itemFirst = itemFirst;
}

export function setLabels(job: ScoreJob, labels: ArrayLike<number> | null): void {
  if (labels === null) return;
  job.hasLabels = true;
  for (let i = 0; i < labels.length; i++) job.pushLabel(labels[i] as number);
}
