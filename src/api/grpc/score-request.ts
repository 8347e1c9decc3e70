import { setIdInputs, setLabels, setPackedIdInputs, setTextRequest } from '../../pipeline/job-inputs.js';
import { ScoreError } from '../../pipeline/errors.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { TYPE_BAD_REQUEST } from '../../sglang/errors.js';
import { scoreSemantics } from '../../sglang/score-schema.js';
import { type RequestDefaults, applyUrgency } from '../request-options.js';
import type { ScoreRequestMsg } from './messages.js';
import { GrpcRequestError } from './status.js';
import { tooManyItems } from '../limits.js';
import { priorityName, requestDeadlineMs } from './urgency.js';

export interface ScoreRequestLimits extends RequestDefaults {
  maxItems: number;
  vocabSize: number;
}

const NO_IDS: number[] = [];

function packedItemCount(msg: ScoreRequestMsg): number {
  const p = msg.itemPackedIds;
  if (!p) return 0;
  const lengths = p.lengths ?? NO_IDS;
  const ids = p.ids ?? NO_IDS;
  let sum = 0;
  for (let i = 0; i < lengths.length; i++) sum += lengths[i] as number;
  if (sum !== ids.length) throw new GrpcRequestError(`item_packed_ids: the lengths add up to ${sum} but ${ids.length} ids were sent`);
  return lengths.length;
}

/**
 * Turns a ScoreRequest into a job with /v1/score's checks in HTTP's order (shape, then SGLang's
 * score_request rules, then urgency, then --max-items), so both APIs refuse the same requests
 * with the same messages. Returns false for a request with no items (answered empty, like SGLang).
 */
export function prepareScoreJob(msg: ScoreRequestMsg, job: ScoreJob, limits: ScoreRequestLimits, callMs: number | null, started: number): boolean {
  const queryKind = msg.query === 'queryText' ? 'text' : msg.query === 'queryIds' ? 'ids' : 'none';
  let n = 0;
  if (msg.items === 'itemTexts') n = msg.itemTexts.texts?.length ?? 0;
  else if (msg.items === 'itemIds') n = msg.itemIds.items?.length ?? 0;
  else if (msg.items === 'itemPackedIds') n = packedItemCount(msg);
  const itemsKind = n === 0 ? 'empty' : msg.items === 'itemTexts' ? 'text' : 'ids';
  const labels = msg.labelTokenIds ?? NO_IDS;
  const sem = scoreSemantics(labels.length > 0, labels, labels.length, msg.items !== undefined, n, queryKind, itemsKind, limits.vocabSize);
  if (sem.kind === 'error') throw new ScoreError(400, sem.message, TYPE_BAD_REQUEST);
  if (sem.kind === 'empty') {
    job.n = 0;
    return false;
  }
  applyUrgency(job, requestDeadlineMs(msg.deadlineMs ?? 0, callMs), priorityName(msg.priority), limits, started);
  if (n > limits.maxItems) throw tooManyItems(limits.maxItems, n);
  job.kind = sem.kind;
  const applySoftmax = msg.applySoftmax === true;
  const itemFirst = msg.itemFirst === true;
  if (sem.kind === 'text') {
    // An omitted query is "" for text items (SGLang 0.5.23, tokenizer_manager_score_mixin.py:993-997).
    setTextRequest(job, msg.queryText ?? '', msg.itemTexts?.texts ?? [], msg.model ? msg.model : null, labels, applySoftmax, itemFirst);
    return true;
  }
  const query = msg.queryIds?.ids ?? NO_IDS;
  if (msg.items === 'itemPackedIds') setPackedIdInputs(job, query, msg.itemPackedIds.ids ?? NO_IDS, msg.itemPackedIds.lengths ?? NO_IDS);
  else setIdInputs(job, query, (msg.itemIds?.items ?? []).map((t) => t.ids ?? NO_IDS));
  setLabels(job, labels);
  job.applySoftmax = applySoftmax;
  job.itemFirst = itemFirst;
  return true;
}
