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
 * 15% of the proxy's CPU in the floor bench's profile, a copy a fraction of that. Consecutive
 * such items go as one run: one ByteWriter.bytes call (one memcpy) per run, where a call per
 * item cost ~90 B of heap each in the gc-free test. Every job of a
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
      w.bytes(lead.body, lead.querySpanStart, lead.querySpanEnd);
    } else w.ints(lead.qRef, lead.qOff, lead.qLen);
  }
  w.raw(ITEMS);
  // Nothing written since here: the next item needs no comma before it.
  const itemsAt = w.pos;
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
        // The next item, after "," or ", " (Python's separator): the run goes on over it.
        const gap = itemStart - runEnd;
        if (runBody === job.body && job.body[runEnd] === 0x2c && (gap === 1 || (gap === 2 && job.body[runEnd + 1] === 0x20))) runEnd = itemEnd;
        else {
          if (runBody !== null) writeRun(w, itemsAt, runBody, runStart, runEnd);
          runBody = job.body;
          runStart = itemStart;
          runEnd = itemEnd;
        }
        continue;
      }
      if (runBody !== null) {
        writeRun(w, itemsAt, runBody, runStart, runEnd);
        runBody = null;
      }
      if (w.pos !== itemsAt) w.byte(0x2c);
      w.byte(0x5b);
      w.ints(job.aRef[i] as Int32Array, job.aOff[i] as number, aLen);
      if (bLen > 0) {
        if (aLen > 0) w.byte(0x2c);
        w.ints(job.bRef[i] as Int32Array, job.bOff[i] as number, bLen);
      }
      w.byte(0x5d);
    }
  }
  if (runBody !== null) writeRun(w, itemsAt, runBody, runStart, runEnd);
  w.raw(LABELS);
  w.ints(lead.labels, 0, lead.nLabels);
  w.raw(lead.applySoftmax ? SOFTMAX_TRUE : SOFTMAX_FALSE);
  w.raw(lead.itemFirst && !lead.wholePrompts ? ITEM_FIRST_TRUE : ITEM_FIRST_FALSE);
}

/** A run of items, after the comma that separates it from the items before it (none at itemsAt). */
function writeRun(w: ByteWriter, itemsAt: number, src: Buffer, start: number, end: number): void {
  if (w.pos !== itemsAt) w.byte(0x2c);
  w.bytes(src, start, end);
}
