import { type ByteWriter, fixed3Text } from '../mem/byte-writer.js';
import type { ScoreJob } from '../pipeline/score-job.js';

const NAMES = ['x-scorecar-items', 'x-scorecar-cache-hits', 'x-scorecar-tokenize-ms', 'x-scorecar-queue-ms', 'x-scorecar-backend-ms', 'x-scorecar-total-ms'];

/**
 * The one writer of the x-scorecar-* figures, so that /v1/score, /rank, /v1/rerank, /v2/rerank and gRPC (as
 * trailing metadata) name and format them alike. It fills a caller's header object rather than
 * returning a new one: the /v1/score route builds its header object once per reply anyway.
 */
export function setTimingHeaders<H extends Record<string, string | number>>(
  h: H,
  job: ScoreJob,
  items: number,
  totalMs: number,
  cacheHits: number = job.cacheHits,
): H {
  return putTimingHeaders(h, scratch.of(job, items, totalMs, cacheHits));
}

/** setTimingHeaders from figures already taken. */
export function putTimingHeaders<H extends Record<string, string | number>>(h: H, t: Timing): H {
  const o = h as Record<string, string | number>;
  o[NAMES[0] as string] = String(t.items);
  o[NAMES[1] as string] = String(t.cacheHits);
  o[NAMES[2] as string] = fixed3Text(t.tokenizeMs);
  o[NAMES[3] as string] = fixed3Text(t.queueMs);
  o[NAMES[4] as string] = fixed3Text(t.backendMs);
  o[NAMES[5] as string] = fixed3Text(t.totalMs);
  return h;
}

/** An answer's figures, taken from its job when it is written, in a record its route reuses. */
export class Timing {
  items = 0;
  cacheHits = 0;
  tokenizeMs = 0;
  queueMs = 0;
  backendMs = 0;
  totalMs = 0;

  of(job: ScoreJob, items: number, totalMs: number, cacheHits: number = job.cacheHits): this {
    this.items = items;
    this.cacheHits = cacheHits;
    this.tokenizeMs = job.tokenizeMs;
    this.queueMs = job.queueMs;
    this.backendMs = job.backendMs;
    this.totalMs = totalMs;
    return this;
  }
}

/** Read at once by setTimingHeaders, never held. */
const scratch = new Timing();

const NAME_LINES = NAMES.map((n) => Buffer.from(`${n}: `, 'latin1'));

/**
 * The same headers as setTimingHeaders, written as header lines straight into a response head
 * (scorecar's own HTTP/1.1 front): no header object or strings per answer.
 */
export function writeTimingHeaders(w: ByteWriter, t: Timing): void {
  line(w, 0, t.items, false);
  line(w, 1, t.cacheHits, false);
  line(w, 2, t.tokenizeMs, true);
  line(w, 3, t.queueMs, true);
  line(w, 4, t.backendMs, true);
  line(w, 5, t.totalMs, true);
}

function line(w: ByteWriter, k: number, v: number, fixed: boolean): void {
  w.raw(NAME_LINES[k] as Buffer);
  if (fixed) w.fixed3(v);
  else w.int(v);
  w.byte(13);
  w.byte(10);
}
