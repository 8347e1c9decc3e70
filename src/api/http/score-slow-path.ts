import { prescanJson, prescanLimitsFor } from '../../mem/json-prescan.js';
import { prescanRefusal } from '../limits.js';
import { setIdInputs, setLabels, setTextInputs } from '../../pipeline/job-inputs.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { TYPE_BAD_REQUEST, TYPE_VALIDATION } from '../../sglang/errors.js';
import { TooManyValues } from '../../sglang/orjson-parse.js';
import { type Int, needsBackendAsIs, parseScoreJson, scoreSemantics, validateScoreBody } from '../../sglang/score-schema.js';

/**
 * `parsed` false: the body did not parse (FastAPI reports that before SGLang's content-type
 * dependency runs); true: it parsed and failed later (the content-type error comes first).
 */
export type SlowPathResult = { ok: true } | { ok: false; message: string; type: string; parsed: boolean };

function inInt32(v: Int): boolean {
  return v >= -2147483648 && v <= 2147483647;
}

function toNumbers(ids: Int[]): number[] {
  return ids.map(Number);
}

/**
 * Parses a /v1/score body the way SGLang 0.5.23 does (orjson, then pydantic's rules; see
 * sglang/score-schema.ts) and fills the job as the fast scanner would, for the bodies the
 * scanner hands over: lax pydantic forms, duplicate keys, the fields scorecar does not compute
 * itself (the job is then sent as is), and errors, which get SGLang's exact message.
 */
/**
 * Values the slow path builds at most (a JS value per JSON value): the canonical body the fast
 * scanner takes has no such bound, but a lax or invalid one is parsed whole, so this bounds its
 * memory (about 100 MB at worst). Beyond it the body is refused with a scorecar message.
 */
export const SLOW_PATH_MAX_VALUES = 2_000_000;

export function parseScoreBodySlow(
  raw: Buffer,
  length: number,
  job: ScoreJob,
  endpointContext: string,
  labelVocabSize: number,
  maxItems = Number.POSITIVE_INFINITY,
): SlowPathResult {
  job.reset();
  // A byte pass first: a body with more than maxItems items (or values for them) is refused
  // before anything is built. Depth is left to the parser, whose limit and message are orjson's.
  const limits = { ...prescanLimitsFor(maxItems), maxDepth: Number.MAX_SAFE_INTEGER };
  const refusal = prescanRefusal(prescanJson(raw, length, limits), maxItems, limits.maxDepth);
  if (refusal !== null) return { ok: false, message: refusal.message, type: refusal.type, parsed: false };
  let r;
  try {
    const p = parseScoreJson(raw.subarray(0, length), endpointContext, SLOW_PATH_MAX_VALUES);
    // An empty body is not parsed at all: FastAPI reports it missing at model validation.
    if (!p.ok) return { ok: false, message: p.message, type: TYPE_VALIDATION, parsed: length === 0 };
    r = validateScoreBody(p.value, endpointContext);
  } catch (e) {
    if (!(e instanceof TooManyValues)) throw e;
    return {
      ok: false,
      message: `Request body has more than ${SLOW_PATH_MAX_VALUES} JSON values in a form scorecar must parse whole (lax or invalid); send canonical JSON (ints, true/false, no duplicate keys) or fewer values`,
      type: TYPE_BAD_REQUEST,
      parsed: false,
    };
  }
  if (!r.ok) return { ok: false, message: r.message, type: TYPE_VALIDATION, parsed: true };
  const f = r.value;
  const items = f.items;
  const flatLabels = f.labels !== null && !(f.labels.length > 0 && Array.isArray(f.labels[0])) ? (f.labels as Int[]) : null;
  const outOfRange = (ids: Int[]): boolean => ids.some((v) => !inInt32(v));
  if ((Array.isArray(f.query) && outOfRange(f.query)) || (Array.isArray(items) && items.some((it) => Array.isArray(it) && outOfRange(it)))) {
    return { ok: false, message: 'Token ids must be 32-bit integers (scorecar)', type: TYPE_BAD_REQUEST, parsed: true };
  }
  if (needsBackendAsIs(f)) {
    // Sent as is, but its ids still go through scorecar's range check (the pipeline reads them
    // from the arena): SGLang does not check input ids, and one outside its table kills it.
    job.asIs = true;
    setTextInputs(job, null, [], f.model);
    if (Array.isArray(f.query)) for (const v of f.query) job.pushId(Number(v));
    if (Array.isArray(items)) for (const it of items) if (Array.isArray(it)) for (const v of it) job.pushId(Number(v));
    job.itemsPresent = items !== null;
    job.n = items === null ? 0 : typeof items === 'string' ? (items.length > 0 ? 1 : 0) : items.length;
    job.itemsKind = job.n === 0 ? 'empty' : 'ids';
    return { ok: true };
  }
  // Labels are checked here, before they become int32 lanes, so a label past 2^31 gets
  // SGLang's own message with its exact digits.
  if (flatLabels !== null && flatLabels.some((v) => !inInt32(v))) {
    const itemCount = items === null ? 0 : typeof items === 'string' ? (items.length > 0 ? 1 : 0) : items.length;
    const sem = scoreSemantics(true, flatLabels, flatLabels.length, items !== null, itemCount, 'text', 'text', labelVocabSize);
    if (sem.kind === 'error') return { ok: false, message: sem.message, type: TYPE_BAD_REQUEST, parsed: true };
  }

  const textItems = typeof items === 'string' ? (items.length > 0 ? [items] : []) : Array.isArray(items) && typeof items[0] === 'string' ? (items as string[]) : null;
  if (textItems !== null || typeof f.query === 'string') {
    setTextInputs(job, typeof f.query === 'string' ? f.query : null, textItems ?? [], f.model);
  } else {
    setTextInputs(job, null, [], f.model); // the model name still needs a span
  }
  if (Array.isArray(f.query)) {
    job.queryOff = job.arenaUsed;
    for (const v of f.query) job.pushId(Number(v));
    job.queryLen = f.query.length;
    job.queryKind = 'ids';
  }
  if (textItems === null && Array.isArray(items) && items.length > 0) setIdInputs(job, null, (items as Int[][]).map(toNumbers));
  job.itemsPresent = items !== null;
  if (items === null || (Array.isArray(items) && items.length === 0) || items === '') {
    job.n = 0;
    job.itemsKind = 'empty';
  }
  setLabels(job, flatLabels === null ? null : toNumbers(flatLabels));
  job.applySoftmax = f.applySoftmax;
  job.itemFirst = f.itemFirst;
  return { ok: true };
}
