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
    hashBytes(body, s, e);
    job.textHash[2 * t] = hashOut[0] as number;
    job.textHash[2 * t + 1] = hashOut[1] as number;
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

export function setLabels(job: ScoreJob, labels: ArrayLike<number> | null): void {
  if (labels === null) return;
  job.hasLabels = true;
  for (let i = 0; i < labels.length; i++) job.pushLabel(labels[i] as number);
}
