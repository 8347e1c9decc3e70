import { type ByteWriter, lit } from '../mem/byte-writer.js';
import type { ScoreJob } from '../pipeline/score-job.js';

const OPEN_QUERY = lit('{"query":[');
const ITEMS = lit('],"items":[');
const LABELS = lit('],"label_token_ids":[');
const SOFTMAX_TRUE = lit('],"apply_softmax":true');
const SOFTMAX_FALSE = lit('],"apply_softmax":false');
const ITEM_FIRST_TRUE = lit(',"item_first":true}');
const ITEM_FIRST_FALSE = lit(',"item_first":false}');

/**
 * Writes SGLang's /v1/score body for items [from, to) of a job, token ids only, straight from
 * the job's Int32Array segments into a pooled buffer (SGLang skips its tokenizer for ids).
 * Prompts sent whole (query []) need no item_first; MIS servers ignore it anyway.
 */
export function writeScoreBody(w: ByteWriter, job: ScoreJob, from: number, to: number): void {
  w.reset();
  w.raw(OPEN_QUERY);
  if (!job.wholePrompts) w.ints(job.qRef, job.qOff, job.qLen);
  w.raw(ITEMS);
  for (let i = from; i < to; i++) {
    if (i > from) w.byte(0x2c);
    w.byte(0x5b);
    const aLen = job.aLen[i] as number;
    const bLen = job.bLen[i] as number;
    w.ints(job.aRef[i] as Int32Array, job.aOff[i] as number, aLen);
    if (bLen > 0) {
      if (aLen > 0) w.byte(0x2c);
      w.ints(job.bRef[i] as Int32Array, job.bOff[i] as number, bLen);
    }
    w.byte(0x5d);
  }
  w.raw(LABELS);
  w.ints(job.labels, 0, job.nLabels);
  w.raw(job.applySoftmax ? SOFTMAX_TRUE : SOFTMAX_FALSE);
  w.raw(job.itemFirst && !job.wholePrompts ? ITEM_FIRST_TRUE : ITEM_FIRST_FALSE);
}
