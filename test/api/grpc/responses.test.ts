import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pb } from '../../../src/api/grpc/messages.js';
import { ProtoWriter } from '../../../src/api/grpc/proto-writer.js';
import { readJobScores, readJsonScores, writeRankResponse, writeScoreError, writeScoreResponse, writeTiming } from '../../../src/api/grpc/responses.js';
import { ScoreJob } from '../../../src/pipeline/score-job.js';

/** A finished job whose score rows are SGLang-style JSON bytes, one buffer for all rows. */
function jobWithRows(rows: number[][]): ScoreJob {
  const job = new ScoreJob();
  job.n = rows.length;
  job.reserve(Math.max(1, rows.length));
  for (let l = 0; l < (rows[0]?.length ?? 0); l++) job.pushLabel(9693 + l);
  let text = '';
  const spans: Array<[number, number]> = [];
  for (const r of rows) {
    const s = text.length;
    // SGLang writes NaN as null; JSON.stringify does the same.
    text += JSON.stringify(r) + ', ';
    spans.push([s, s + JSON.stringify(r).length]);
  }
  const buf = Buffer.from(text, 'latin1');
  spans.forEach(([s, e], i) => {
    job.rowBuf[i] = buf;
    job.rowStart[i] = s;
    job.rowEnd[i] = e;
  });
  return job;
}

const score = fc.oneof(fc.double({ noNaN: true }), fc.constant(Number.NaN), fc.double({ min: 0, max: 1, noNaN: true }));

describe('ScoreResponse written by ProtoWriter', () => {
  it('decodes with the generated code to the scores, labels, model and usage', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((nl) => fc.tuple(fc.constant(nl), fc.array(fc.array(score, { minLength: nl, maxLength: nl }), { maxLength: 40 }))),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.nat({ max: 2 ** 31 }),
        ([nl, rows], model, tokens) => {
          const job = jobWithRows(rows);
          job.nLabels = nl;
          const w = new ProtoWriter(8);
          writeScoreResponse(w, rows.length > 0 ? readJobScores(job) : 0, nl, model, tokens);
          const r = pb.ScoreResponse.decode(w.take());
          // Same as JSON.parse of the row bytes, NaN for null included.
          expect(r.scores).toEqual(rows.flat().map((v) => JSON.parse(JSON.stringify(v)) ?? Number.NaN));
          expect(r.nLabels).toBe(nl);
          expect(r.model).toBe(model);
          expect(r.usage?.promptTokens ?? 0).toBe(tokens);
          expect(r.usage?.totalTokens ?? 0).toBe(tokens);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is byte-for-byte what the generated encoder writes', () => {
    const rows = [
      [0.25, 0.75],
      [1e-300, -2.5],
      [0.1, 0.9],
    ];
    const job = jobWithRows(rows);
    job.nLabels = 2;
    const w = new ProtoWriter();
    writeScoreResponse(w, readJobScores(job), 2, 'qwen3 — 0.6B', 1234);
    const ref = pb.ScoreResponse.encode({ scores: rows.flat(), nLabels: 2, model: 'qwen3 — 0.6B', usage: { promptTokens: 1234, totalTokens: 1234 } }).finish();
    expect(Buffer.compare(w.take(), Buffer.from(ref))).toBe(0);
  });

  it('refuses a backend row whose length is not the number of labels', () => {
    const job = jobWithRows([[0.1, 0.2, 0.3]]);
    job.nLabels = 2;
    expect(() => readJobScores(job)).toThrow(/3 values for 2 labels/);
  });

  it('reads relayed JSON rows, null as NaN', () => {
    const w = new ProtoWriter();
    writeScoreResponse(w, readJsonScores([[0.5, null], [1, 2]], 2), 2, 'm', 7);
    expect(pb.ScoreResponse.decode(w.take()).scores).toEqual([0.5, Number.NaN, 1, 2]);
    expect(() => readJsonScores([[1]], 2)).toThrow(/does not hold 2 values/);
    expect(() => readJsonScores(null, 2)).toThrow(/no scores/);
  });
});

describe('ScoreStreamResponse written by ProtoWriter', () => {
  it('nests a response of any size and the timing', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.array(score, { minLength: 2, maxLength: 2 }), { maxLength: 300 }), (id, rows) => {
        const job = jobWithRows(rows);
        job.nLabels = 2;
        job.cacheHits = 3;
        job.tokenizeMs = 1.5;
        job.queueMs = 0.25;
        job.backendMs = 12.125;
        const w = new ProtoWriter(16);
        w.uint32(1, id);
        const r = w.begin(2);
        writeScoreResponse(w, rows.length > 0 ? readJobScores(job) : 0, 2, 'default', 10);
        w.end(r);
        writeTiming(w, 4, job, 20.5);
        const m = pb.ScoreStreamResponse.decode(w.take());
        expect(m.id).toBe(id);
        expect(m.result).toBe('response');
        expect(m.response?.scores).toEqual(rows.flat().map((v) => JSON.parse(JSON.stringify(v)) ?? Number.NaN));
        expect(m.timing).toMatchObject({ items: rows.length, cacheHits: 3, tokenizeMs: 1.5, queueMs: 0.25, backendMs: 12.125, totalMs: 20.5 });
      }),
      { numRuns: 150 },
    );
  });

  it('carries an error with its code, message and retry hint (negative int32 too)', () => {
    for (const [code, retry] of [
      [8, 3],
      [3, null],
      [-5, null],
    ] as const) {
      const w = new ProtoWriter(4);
      w.uint32(1, 77);
      writeScoreError(w, 3, code, 'über-long message '.repeat(20), retry);
      const m = pb.ScoreStreamResponse.decode(w.take());
      expect(m.result).toBe('error');
      expect(m.error).toMatchObject({ code, message: 'über-long message '.repeat(20), retryAfterS: retry ?? 0 });
    }
  });
});

describe('RankResponse written by ProtoWriter', () => {
  it('decodes to the results best first, the unscored ids, depth, cache hits and model', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 150 }), { maxLength: 60 }),
        fc.nat(),
        (ids, seed) => {
          const items = ids.map((id) => ({ id }));
          const depth = items.length === 0 ? 0 : seed % (items.length + 1);
          const scores = Float64Array.from(items, (_, i) => (i < depth ? ((seed + i * 7919) % 1000) / 1000 : Number.NaN));
          const cached = Uint8Array.from(items, (_, i) => (i + seed) % 2);
          const order = Int32Array.from(
            Array.from({ length: depth }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number)),
          ).slice(0, Math.max(0, depth - (seed % 3)));
          const w = new ProtoWriter(8);
          writeRankResponse(w, items, order, scores, cached, depth, seed % 50, 'Qwen/Qwen3-0.6B');
          const r = pb.RankResponse.decode(w.take());
          expect((r.results ?? []).map((x) => [x.id, x.score, x.cached])).toEqual(
            Array.from(order, (i) => [ids[i], scores[i], cached[i] === 1]),
          );
          expect(r.unscored).toEqual(ids.slice(depth));
          expect(r.depth).toBe(depth);
          expect(r.cacheHits).toBe(seed % 50);
          expect(r.model).toBe('Qwen/Qwen3-0.6B');
        },
      ),
      { numRuns: 200 },
    );
  });
});
