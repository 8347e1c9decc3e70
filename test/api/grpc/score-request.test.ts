import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ScoreRequestMsg, pb } from '../../../src/api/grpc/messages.js';
import { prepareScoreJob } from '../../../src/api/grpc/score-request.js';
import { scanScoreBody } from '../../../src/api/http/score-scanner.js';
import { identify } from '../../../src/pipeline/cache-stage.js';
import { KeyedHash } from '../../../src/mem/keyed-hash.js';
import { ScoreError } from '../../../src/pipeline/errors.js';
import { ScoreJob } from '../../../src/pipeline/score-job.js';
import { GrpcRequestError } from '../../../src/api/grpc/status.js';

const hasher = await KeyedHash.create(Buffer.from('a test secret, 32 bytes or so...'));

const LIMITS = { maxItems: 50, vocabSize: 151643, deadlineMs: null, priority: 'online' as const };

/** What the client sent, through the wire and the generated decoder, as the server sees it. */
function wire(init: ConstructorParameters<typeof pb.ScoreRequest>[0]): ScoreRequestMsg {
  return pb.ScoreRequest.decode(pb.ScoreRequest.encode(init ?? {}).finish());
}

function prepare(init: ConstructorParameters<typeof pb.ScoreRequest>[0], callMs: number | null = null): { job: ScoreJob; run: boolean } {
  const job = new ScoreJob();
  const run = prepareScoreJob(wire(init), job, LIMITS, callMs, 1000);
  return { job, run };
}

function ids(job: ScoreJob, off: number, len: number): number[] {
  return Array.from(job.arena.subarray(off, off + len));
}

describe('prepareScoreJob', () => {
  it("refuses what SGLang's score_request refuses, with its messages", () => {
    const cases: Array<[ConstructorParameters<typeof pb.ScoreRequest>[0], RegExp]> = [
      [{ queryText: 'q', itemTexts: { texts: ['a'] } }, /label_token_ids is required/],
      [{ queryText: 'q', labelTokenIds: [1] }, /items must be provided/],
      [{ queryText: 'q', itemIds: { items: [{ ids: [1] }] }, labelTokenIds: [1] }, /Invalid combination/],
      [{ queryIds: { ids: [1] }, itemIds: { items: [{ ids: [2] }] }, labelTokenIds: [151643] }, /out of vocabulary \(vocab size: 151643\)/],
      [{ queryIds: { ids: [1] }, itemIds: { items: Array.from({ length: 51 }, () => ({ ids: [2] })) }, labelTokenIds: [1] }, /Too many items: 51 > 50/],
    ];
    for (const [init, message] of cases) {
      expect(() => prepare(init), String(message)).toThrow(ScoreError);
      expect(() => prepare(init)).toThrow(message);
    }
  });

  it('takes an omitted query as SGLang 0.5.23 does: "" for text items, [] for id items', () => {
    expect(prepare({ itemTexts: { texts: ['a'] }, labelTokenIds: [1] }).run).toBe(true);
    expect(prepare({ itemIds: { items: [{ ids: [2] }] }, labelTokenIds: [1] }).run).toBe(true);
  });

  it('checks packed lengths against the ids and the priority enum', () => {
    expect(() => prepare({ queryIds: { ids: [1] }, itemPackedIds: { ids: [1, 2, 3], lengths: [1, 1] }, labelTokenIds: [1] })).toThrow(GrpcRequestError);
    expect(() => prepare({ queryIds: { ids: [1] }, itemPackedIds: { ids: [1, 2, 3], lengths: [1, 1] }, labelTokenIds: [1] })).toThrow(/add up to 2 but 3 ids/);
    expect(() => prepare({ queryIds: { ids: [1] }, itemIds: { items: [{ ids: [2] }] }, labelTokenIds: [1], priority: 7 as (typeof pb.Priority)[keyof typeof pb.Priority] })).toThrow(
      /PRIORITY_ONLINE or PRIORITY_NEARLINE/,
    );
  });

  it('answers an empty item list without running, like SGLang', () => {
    for (const items of [{ itemTexts: { texts: [] } }, { itemIds: { items: [] } }, { itemPackedIds: {} }]) {
      const { job, run } = prepare({ queryText: 'q', ...items, labelTokenIds: [9693, 2152] });
      expect(run).toBe(false);
      expect(job.n).toBe(0);
    }
  });

  it('takes the earlier of deadline_ms and the gRPC deadline, and the priority', () => {
    const base = { queryIds: { ids: [1] }, itemIds: { items: [{ ids: [2] }] }, labelTokenIds: [1] };
    expect(prepare(base).job.deadlineAt).toBe(Number.POSITIVE_INFINITY);
    expect(prepare({ ...base, deadlineMs: 300 }).job.deadlineAt).toBe(1300);
    expect(prepare({ ...base, deadlineMs: 300 }, 120).job.deadlineAt).toBe(1120);
    expect(prepare(base, 500).job.deadlineAt).toBe(1500);
    // Spent on arrival: still a positive budget, so the shaper refuses it as too late.
    expect(prepare(base, -5).job.deadlineAt).toBeCloseTo(1000, 2);
    expect(prepare({ ...base, priority: pb.Priority.PRIORITY_NEARLINE }).job.priority).toBe('nearline');
    expect(prepare({ ...base, priority: pb.Priority.PRIORITY_UNSPECIFIED }).job.priority).toBe('online');
  });

  it('fills ids the same from item_ids, packed ids and an HTTP body (same cache identity)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 151642 }), { maxLength: 20 }),
        fc.array(fc.array(fc.integer({ min: -5, max: 151642 }), { maxLength: 30 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (query, items, softmax) => {
          const common = { queryIds: { ids: query }, labelTokenIds: [9693, 2152], applySoftmax: softmax };
          const a = prepare({ ...common, itemIds: { items: items.map((x) => ({ ids: x })) } }).job;
          const lengths = items.map((x) => x.length);
          const b = prepare({ ...common, itemPackedIds: { ids: items.flat(), lengths } }).job;
          const raw = Buffer.from(JSON.stringify({ query, items, label_token_ids: [9693, 2152], apply_softmax: softmax }));
          const h = new ScoreJob();
          expect(scanScoreBody(raw, raw.length, h)).toBe(true);
          for (const job of [a, b, h]) identify(job, hasher);
          for (const job of [a, b]) {
            expect(job.kind).toBe('ids');
            expect(job.n).toBe(items.length);
            expect(ids(job, job.queryOff, job.queryLen)).toEqual(query);
            items.forEach((x, i) => expect(ids(job, job.aOff[i] as number, job.aLen[i] as number)).toEqual(x));
            expect(Array.from(job.labels.subarray(0, job.nLabels))).toEqual([9693, 2152]);
            expect(job.applySoftmax).toBe(softmax);
            expect(Array.from(job.idHash.subarray(0, 4 * items.length + 4))).toEqual(Array.from(h.idHash.subarray(0, 4 * items.length + 4)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fills text as a complete SGLang body with the HTTP scanner’s spans and hashes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 10 }),
        fc.string({ unit: 'grapheme' }),
        fc.boolean(),
        (query, items, model, itemFirst) => {
          const { job, run } = prepare({ queryText: query, itemTexts: { texts: items }, labelTokenIds: [9693, 2152], model, itemFirst });
          expect(run).toBe(true);
          expect(job.kind).toBe('text');
          const body = JSON.parse(job.body.toString('utf8', 0, job.bodyLength)) as Record<string, unknown>;
          const expected: Record<string, unknown> = { query, items, label_token_ids: [9693, 2152], apply_softmax: false, item_first: itemFirst };
          if (model !== '') expected.model = model;
          expect(body).toEqual(expected);
          const text = (s: number, e: number): string => JSON.parse(`"${job.body.toString('utf8', s, e)}"`) as string;
          expect(text(job.queryStart, job.queryEnd)).toBe(query);
          items.forEach((t, i) => expect(text(job.itemSpans[2 * i] as number, job.itemSpans[2 * i + 1] as number)).toBe(t));
          if (model !== '') expect(text(job.modelStart, job.modelEnd)).toBe(model);
          // The same request over HTTP (as JSON.stringify writes it) keys the same cache entries.
          const raw = Buffer.from(JSON.stringify(expected));
          const h = new ScoreJob();
          expect(scanScoreBody(raw, raw.length, h)).toBe(true);
          expect(Array.from(job.textHash.subarray(0, 2))).toEqual(Array.from(h.textHash.subarray(0, 2)));
          expect(Array.from(job.escaped.subarray(0, items.length + 1))).toEqual(Array.from(h.escaped.subarray(0, items.length + 1)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
