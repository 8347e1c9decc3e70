import { prescanJson, prescanLimitsFor } from '../../mem/json-prescan.js';
import { prescanRefusal } from '../limits.js';
import { setIdInputs, setLabels, setTextInputs } from '../../pipeline/job-inputs.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { jsonInvalidMessage, validateScoreBody } from '../../sglang/score-schema.js';

export type SlowPathResult = { ok: true } | { ok: false; message: string; type: string };

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function inInt32(v: number): boolean {
  return v >= -2147483648 && v <= 2147483647;
}

/**
 * Parses a /v1/score body the way SGLang does (JSON.parse, then pydantic's rules) and fills the
 * job as the fast scanner would, for the bodies the scanner hands over: lax pydantic forms,
 * duplicate keys, and errors (which get SGLang's exact kind of message).
 */
export function parseScoreBodySlow(raw: Buffer, length: number, job: ScoreJob, maxItems = Number.POSITIVE_INFINITY): SlowPathResult {
  job.reset();
  // JSON.parse builds the whole body as JS values: bound what it may build first.
  const limits = prescanLimitsFor(maxItems);
  const refusal = prescanRefusal(prescanJson(raw, length, limits), maxItems, limits.maxDepth);
  if (refusal !== null) return { ok: false, message: refusal.message, type: refusal.type };
  let value: unknown;
  try {
    value = JSON.parse(fatalUtf8.decode(raw.subarray(0, length)));
  } catch (e) {
    const pos = /position (\d+)/.exec(String(e))?.[1];
    return { ok: false, message: jsonInvalidMessage(pos ? Number(pos) : 0), type: TYPE_VALIDATION };
  }
  const r = validateScoreBody(value);
  if (!r.ok) return { ok: false, message: r.message, type: TYPE_VALIDATION };
  const f = r.value;
  const outOfRange = (ids: number[]): boolean => ids.some((v) => !inInt32(v));
  if (
    (Array.isArray(f.query) && outOfRange(f.query)) ||
    (f.labels !== null && outOfRange(f.labels)) ||
    (Array.isArray(f.items) && f.items.some((it) => Array.isArray(it) && outOfRange(it)))
  ) {
    return { ok: false, message: 'Token ids must be 32-bit integers (scorecar)', type: TYPE_VALIDATION };
  }
  const items = f.items;
  const textItems = typeof items === 'string' ? (items.length > 0 ? [items] : []) : Array.isArray(items) && typeof items[0] === 'string' ? (items as string[]) : null;
  if (textItems !== null || typeof f.query === 'string') {
    setTextInputs(job, typeof f.query === 'string' ? f.query : null, textItems ?? [], f.model);
  } else {
    setTextInputs(job, null, [], f.model); // the model name still needs a span
  }
  if (Array.isArray(f.query)) {
    job.queryOff = job.arenaUsed;
    for (const v of f.query) job.pushId(v);
    job.queryLen = f.query.length;
    job.queryKind = 'ids';
  }
  if (textItems === null && Array.isArray(items) && items.length > 0) setIdInputs(job, null, items as number[][]);
  job.itemsPresent = items !== null;
  if (items === null || (Array.isArray(items) && items.length === 0) || items === '') {
    job.n = 0;
    job.itemsKind = 'empty';
  }
  setLabels(job, f.labels);
  job.applySoftmax = f.applySoftmax;
  job.itemFirst = f.itemFirst;
  return { ok: true };
}
