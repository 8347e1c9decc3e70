import { BadGateway } from '../../backend/errors.js';
import { parseRow } from '../../mem/parse-double.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import type { ProtoWriter } from './proto-writer.js';

/**
 * Response messages written with ProtoWriter, field by field in the generated encoders' order
 * (see scorer.proto for the numbers). Scores go from the backend's row bytes to one packed
 * `repeated double` without a string or an object per item.
 */

/** Row-major scores of the response being written (one response at a time: encoding is synchronous). */
let scores = new Float64Array(1024);

function room(n: number): Float64Array {
  if (scores.length < n) {
    let m = scores.length;
    while (m < n) m *= 2;
    scores = new Float64Array(m);
  }
  return scores;
}

/** Reads the job's score rows into the scratch array; every row must hold one value per label. */
export function readJobScores(job: ScoreJob): number {
  const nl = job.nLabels;
  const out = room(job.n * nl);
  for (let i = 0; i < job.n; i++) {
    const got = parseRow(job.rowBuf[i] as Buffer, job.rowStart[i] as number, job.rowEnd[i] as number, out, i * nl);
    if (got !== nl) throw new BadGateway(`the backend's score row for item ${i} has ${got} values for ${nl} labels`);
  }
  return job.n * nl;
}

/** Reads SGLang's JSON `scores` (a relayed reply) into the scratch array. */
export function readJsonScores(rows: unknown, nl: number): number {
  if (!Array.isArray(rows)) throw new BadGateway('the backend reply has no scores list');
  const out = room(rows.length * nl);
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    if (!Array.isArray(row) || row.length !== nl) throw new BadGateway(`the backend's score row for item ${i} does not hold ${nl} values`);
    for (let j = 0; j < nl; j++) {
      const v: unknown = row[j];
      out[i * nl + j] = typeof v === 'number' ? v : Number.NaN; // SGLang writes NaN as null
    }
  }
  return rows.length * nl;
}

/** ScoreResponse from the scratch scores (fields 1-4). */
export function writeScoreResponse(w: ProtoWriter, count: number, nLabels: number, model: string, promptTokens: number): void {
  w.packedDoubles(1, scores, count);
  w.uint32(2, nLabels);
  w.string(3, model);
  const usage = w.begin(4);
  w.uint32(1, promptTokens);
  w.uint32(2, promptTokens);
  w.end(usage);
}

/** Timing (ScoreStreamResponse field 4): the x-scorecar-* figures of one request. */
export function writeTiming(w: ProtoWriter, field: number, job: ScoreJob, totalMs: number): void {
  const t = w.begin(field);
  w.uint32(1, job.n);
  w.uint32(2, job.cacheHits);
  w.double(3, job.tokenizeMs);
  w.double(4, job.queueMs);
  w.double(5, job.backendMs);
  w.double(6, totalMs);
  w.end(t);
}

/** ScoreError (ScoreStreamResponse field 3). */
export function writeScoreError(w: ProtoWriter, field: number, code: number, message: string, retryAfterS: number | null): void {
  const e = w.begin(field);
  w.int32(1, code);
  w.string(2, message);
  w.uint32(3, retryAfterS ?? 0);
  w.end(e);
}

/** The ranked part of RankResponse: results best first, then the unscored ids in retrieval order. */
export function writeRankResponse(
  w: ProtoWriter,
  ids: ReadonlyArray<{ id: string }>,
  order: Int32Array,
  scoresByItem: Float64Array,
  cached: Uint8Array,
  depth: number,
  cacheHits: number,
  model: string,
): void {
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    const r = w.begin(1);
    w.string(1, (ids[i] as { id: string }).id);
    w.double(2, scoresByItem[i] as number);
    w.bool(3, cached[i] === 1);
    w.end(r);
  }
  for (let i = depth; i < ids.length; i++) w.string(2, (ids[i] as { id: string }).id);
  w.uint32(3, depth);
  w.uint32(4, cacheHits);
  w.string(5, model);
}
