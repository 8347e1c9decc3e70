import { type ByteWriter, lit } from '../mem/byte-writer.js';
import type { ScoreBatchView as Batch } from './score-batch.js';

const OPEN_QUERY = lit('{"query":[');
const ITEMS = lit('],"items":[');
const LABELS = lit('],"label_token_ids":[');
const SOFTMAX_TRUE = lit('],"apply_softmax":true');
const SOFTMAX_FALSE = lit('],"apply_softmax":false');
const ITEM_FIRST_TRUE = lit(',"item_first":true}');
const ITEM_FIRST_FALSE = lit(',"item_first":false}');

/**
 * Writes SGLang's /v1/score body for one batch, token ids only, straight from the jobs'
 * Int32Array segments into a pooled buffer (SGLang skips its tokenizer for ids). An id list the
 * client already spelled canonically is copied from its request bytes: printing 1,870 ids cost
 * 15% of the proxy's CPU in the floor bench's profile, a copy a fraction of that. Every job of a
 * batch shares the lead's query, labels and flags. Prompts sent whole (query []) need no
 * item_first; MIS servers ignore it anyway.
 */
export function writeScoreBody(w: ByteWriter, batch: Batch): void {
  const lead = batch.lead();
  w.reset();
  w.raw(OPEN_QUERY);
  if (!lead.wholePrompts) {
    // The client's query bytes, when they are its id list unchanged.
    if (lead.querySpanStart >= 0 && lead.qRef === lead.arena && lead.qOff === lead.queryOff && lead.qLen === lead.queryLen) {
      copyRun(w, lead.body, lead.querySpanStart, lead.querySpanEnd);
    } else w.ints(lead.qRef, lead.qOff, lead.qLen);
  }
  w.raw(ITEMS);
  let first = true;
  // A run of items whose client bytes are already the backend's, with the commas between them:
  // [runStart, runEnd) of runBody, written as one copy (a whole request's items, usually).
  let runBody: Buffer | null = null;
  let runStart = 0;
  let runEnd = 0;
  for (let s = 0; s < batch.count; s++) {
    const job = batch.jobs[s]!;
    const to = batch.to[s] as number;
    for (let k = batch.from[s] as number; k < to; k++) {
      const i = job.active[k] as number;
      const span = job.idSpan[4 * i] as number;
      const aLen = job.aLen[i] as number;
      const bLen = job.bLen[i] as number;
      // Segment a is the client's item ids (aRef the arena, as the scanner left aOff/aLen) and
      // nothing follows it: the client's own bytes, brackets included, are the item.
      if (span >= 0 && bLen === 0 && job.aRef[i] === job.arena && job.aOff[i] === job.idSpan[4 * i + 2] && aLen === job.idSpan[4 * i + 3]) {
        const itemStart = span - 1;
        const itemEnd = (job.idSpan[4 * i + 1] as number) + 1;
        if (runBody === job.body && itemStart === runEnd + 1 && job.body[runEnd] === 0x2c) runEnd = itemEnd;
        else {
          if (runBody !== null) {
            if (!first) w.byte(0x2c);
            first = false;
            copyRun(w, runBody, runStart, runEnd);
          }
          runBody = job.body;
          runStart = itemStart;
          runEnd = itemEnd;
        }
        continue;
      }
      if (runBody !== null) {
        if (!first) w.byte(0x2c);
        first = false;
        copyRun(w, runBody, runStart, runEnd);
        runBody = null;
      }
      if (!first) w.byte(0x2c);
      first = false;
      w.byte(0x5b);
      w.ints(job.aRef[i] as Int32Array, job.aOff[i] as number, aLen);
      if (bLen > 0) {
        if (aLen > 0) w.byte(0x2c);
        w.ints(job.bRef[i] as Int32Array, job.bOff[i] as number, bLen);
      }
      w.byte(0x5d);
    }
  }
  if (runBody !== null) {
    if (!first) w.byte(0x2c);
    copyRun(w, runBody, runStart, runEnd);
  }
  w.raw(LABELS);
  w.ints(lead.labels, 0, lead.nLabels);
  w.raw(lead.applySoftmax ? SOFTMAX_TRUE : SOFTMAX_FALSE);
  w.raw(lead.itemFirst && !lead.wholePrompts ? ITEM_FIRST_TRUE : ITEM_FIRST_FALSE);
}

/**
 * Client bytes into the writer. Short runs by a loop; long ones by Buffer.copy (memcpy), whose
 * view object (~90 B of heap) is then paid once per run, not once per item: through a shared
 * per-item copy the gc-free test's marginal item went from 9 to 95 B, and a JS byte loop over a
 * whole 11 KB body cost 10% of the proxy's CPU in the floor profile.
 */
function copyRun(w: ByteWriter, src: Buffer, start: number, end: number): void {
  const n = end - start;
  w.ensure(n);
  if (n >= 1024) {
    src.copy(w.buf, w.pos, start, end);
    w.pos += n;
    return;
  }
  const b = w.buf;
  let p = w.pos;
  for (let i = start; i < end; i++) b[p++] = src[i] as number;
  w.pos = p;
}
