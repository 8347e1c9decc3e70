import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanScoreBody } from '../../../src/api/http/score-scanner.js';
import { parseScoreBodySlow } from '../../../src/api/http/score-slow-path.js';
import { DEFAULT_SCORE_ENDPOINT_CONTEXT } from '../../../src/sglang/validation-error.js';
import { ScoreJob } from '../../../src/pipeline/score-job.js';

/** What a job says the client sent, independent of how the body was read. */
function view(job: ScoreJob): unknown {
  const text = (s: number, e: number): string => JSON.parse(`"${job.body.toString('utf8', s, e)}"`) as string;
  const items: unknown[] = [];
  for (let i = 0; i < job.n; i++) {
    if (job.itemsKind === 'text') items.push(text(job.itemSpans[2 * i] as number, job.itemSpans[2 * i + 1] as number));
    else items.push(Array.from(job.arena.subarray(job.aOff[i], (job.aOff[i] as number) + (job.aLen[i] as number))));
  }
  return {
    queryKind: job.queryKind,
    query:
      job.queryKind === 'text'
        ? text(job.queryStart, job.queryEnd)
        : job.queryKind === 'ids'
          ? Array.from(job.arena.subarray(job.queryOff, job.queryOff + job.queryLen))
          : null,
    itemsKind: job.itemsKind,
    itemsPresent: job.itemsPresent,
    items,
    labels: job.hasLabels ? Array.from(job.labels.subarray(0, job.nLabels)) : null,
    applySoftmax: job.applySoftmax,
    itemFirst: job.itemFirst,
    model: job.modelStart >= 0 ? text(job.modelStart, job.modelEnd) : 'default',
  };
}

const int = fc.integer({ min: 0, max: 151642 });
const body = fc.record(
  {
    query: fc.oneof(fc.string({ unit: 'grapheme' }), fc.array(int, { maxLength: 30 }), fc.constant(null)),
    items: fc.oneof(
      fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 12 }),
      fc.array(fc.array(int, { maxLength: 20 }), { maxLength: 12 }),
      fc.string({ unit: 'grapheme' }),
      fc.constant(null),
    ),
    label_token_ids: fc.oneof(fc.array(int, { maxLength: 4 }), fc.constant(null)),
    apply_softmax: fc.boolean(),
    item_first: fc.boolean(),
    model: fc.string({ unit: 'grapheme' }),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('the /v1/score byte scanner', () => {
  it('reads every canonical body exactly like the JSON.parse slow path', () => {
    fc.assert(
      fc.property(body, fc.boolean(), (value, pretty) => {
        const raw = Buffer.from(JSON.stringify(value, null, pretty ? 2 : undefined));
        const fast = new ScoreJob();
        expect(scanScoreBody(raw, raw.length, fast)).toBe(true);
        const slow = new ScoreJob();
        const r = parseScoreBodySlow(raw, raw.length, slow, DEFAULT_SCORE_ENDPOINT_CONTEXT, 151643);
        expect(r.ok).toBe(true);
        if (slow.asIs) {
          // A text query with id items: both paths send it to the backend as is (the route
          // decides that from the fast path's kinds).
          expect([fast.queryKind, fast.itemsKind]).toEqual(['text', 'ids']);
          return;
        }
        expect(view(fast)).toEqual(view(slow));
      }),
      { numRuns: 400 },
    );
  });

  it('records where the body already spells each id list canonically, and the ids\' bounds', () => {
    const list = fc.array(fc.integer({ min: -5, max: 2147483647 }), { maxLength: 20 });
    fc.assert(
      fc.property(list, fc.array(list, { maxLength: 8 }), fc.boolean(), (query, items, pretty) => {
        const raw = Buffer.from(JSON.stringify({ query, items }, null, pretty ? 1 : undefined));
        const job = new ScoreJob();
        expect(scanScoreBody(raw, raw.length, job)).toBe(true);
        const lists = [query, ...items];
        const spans = [[job.querySpanStart, job.querySpanEnd], ...items.map((_, i) => [job.idSpan[4 * i], job.idSpan[4 * i + 1]])];
        lists.forEach((ids, t) => {
          const [s, e] = spans[t] as [number, number];
          // Spaces or a sign: no span, the ids are printed again. Otherwise the bytes are the list.
          if (pretty || ids.length === 0 || ids.some((v) => v < 0)) expect(s).toBe(-1);
          else expect(raw.toString('utf8', s, e)).toBe(ids.join(','));
        });
        const all = lists.flat();
        expect(job.idStatsValid).toBe(true);
        expect(job.idNegative).toBe(all.some((v) => v < 0));
        expect(job.idMax).toBe(Math.max(-1, ...all));
      }),
      { numRuns: 300 },
    );
    // Leading zeros, fractions and overflow are not ids: the slow path decides.
    for (const bad of ['[01]', '[1.0]', '[1e3]', '[2147483648]', '[12345678901]', '[1,]', '[,1]']) {
      const raw = Buffer.from(`{"query":${bad},"items":[[1]]}`);
      expect(scanScoreBody(raw, raw.length, new ScoreJob()), bad).toBe(false);
    }
  });

  it("checks the body's UTF-8 and nothing past it, writing only into a spare tail", () => {
    const inBuffer = (body: Buffer, tail: number[]): Buffer => Buffer.concat([body, Buffer.from(tail)]);
    const good = Buffer.from('{"query":"Zürich","items":["b"],"label_token_ids":[1]}');
    const bad = Buffer.concat([Buffer.from('{"query":"a'), Buffer.from([0xe2, 0x82]), Buffer.from('","items":["b"]}')]);
    // Garbage past the body does not fail a good body; a tail that would complete an open sequence does not mend a bad one.
    const openEnd = Buffer.concat([Buffer.from('{"query":"a","items":["b"]}'), Buffer.from([0xe2, 0x82])]);
    for (const spare of [false, true]) {
      const g = inBuffer(good, [0xff, 0xfe, 0x80]);
      expect(scanScoreBody(g, good.length, new ScoreJob(), 100, spare), `good, spare ${spare}`).toBe(true);
      expect(g.subarray(good.length).every((x) => x === 0), 'tail zeroed').toBe(spare);
      expect(g.subarray(0, good.length)).toEqual(good);
      expect(scanScoreBody(inBuffer(bad, [0x20, 0x20]), bad.length, new ScoreJob(), 100, spare), `bad, spare ${spare}`).toBe(false);
      expect(scanScoreBody(inBuffer(openEnd, [0xac]), openEnd.length, new ScoreJob(), 100, spare), `open end, spare ${spare}`).toBe(false);
    }
    // A tail much longer than the body is not zeroed (a view is cheaper than the fill).
    const long = inBuffer(good, new Array<number>(10_000).fill(0xff));
    expect(scanScoreBody(long, good.length, new ScoreJob(), 100, true)).toBe(true);
    expect(long[good.length]).toBe(0xff);
  });

  it('hands lax, duplicate or broken forms to the slow path', () => {
    for (const text of [
      '{"query":"a","items":["b"],"label_token_ids":["9693"]}',
      '{"query":"a","items":["b"],"apply_softmax":1}',
      '{"query":"a","query":"b","items":["c"]}',
      '{"query":"a","items":["b"],"label_token_ids":[1.0]}',
      '{"query":"a","items":["b",[1]]}',
      '{"query":"a","items":["b"]} trailing',
      '{"query":"a","items":["b"],}',
    ]) {
      const raw = Buffer.from(text);
      expect(scanScoreBody(raw, raw.length, new ScoreJob()), text).toBe(false);
    }
  });

  it('sends texts with a surrogate escape to the slow path, and only those', () => {
    const body = (t: string): Buffer => Buffer.from(`{"query":"q","items":["${t}"],"label_token_ids":[1]}`);
    for (const t of ['\\ud800', 'a\\uDBFF b', 'x\\udc00', '\\uD83D\\uDE00']) {
      const raw = body(t);
      expect(scanScoreBody(raw, raw.length, new ScoreJob()), t).toBe(false);
    }
    // An escaped backslash before "uD800" is text, and other escapes stay on the fast path.
    for (const t of ['\\\\uD800', 'line\\nnext \\u00e9 \\u0041 \\uE000', 'plain']) {
      const raw = body(t);
      expect(scanScoreBody(raw, raw.length, new ScoreJob()), t).toBe(true);
    }
  });

  it('hashes the same query text the same way on both paths when it has no escapes', () => {
    const raw = Buffer.from('{"query":"Senior engineer, Zürich 🚀","items":["x"]}');
    const fast = new ScoreJob();
    scanScoreBody(raw, raw.length, fast);
    const slow = new ScoreJob();
    parseScoreBodySlow(raw, raw.length, slow, DEFAULT_SCORE_ENDPOINT_CONTEXT, 151643);
    expect(Array.from(fast.textHash.subarray(0, 2))).toEqual(Array.from(slow.textHash.subarray(0, 2)));
    expect(fast.textHash[0]).not.toBe(0);
  });
});
