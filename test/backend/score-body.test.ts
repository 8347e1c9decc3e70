import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanScoreBody } from '../../src/api/http/score-scanner.js';
import { writeScoreBody } from '../../src/backend/score-body.js';
import { ByteWriter } from '../../src/mem/byte-writer.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { resolveIds } from '../../src/pipeline/tokenize-stage.js';
import { pyDumps } from '../support/py-dumps.js';

const ids = fc.array(fc.integer({ min: 0, max: 151642 }), { maxLength: 40 });
const request = fc.record({
  query: ids,
  items: fc.array(ids, { minLength: 1, maxLength: 12 }),
  label_token_ids: fc.array(fc.integer({ min: 0, max: 151642 }), { minLength: 1, maxLength: 3 }),
  apply_softmax: fc.boolean(),
  item_first: fc.boolean(),
});

function scanned(raw: Buffer, spans: boolean, keep?: (i: number) => boolean): ScoreJob {
  const job = new ScoreJob();
  expect(scanScoreBody(raw, raw.length, job)).toBe(true);
  if (!spans) {
    job.idSpan.fill(-1);
    job.querySpanStart = job.querySpanEnd = -1;
  }
  resolveIds(job);
  job.selectAll();
  if (keep !== undefined) {
    // Score-cache hits leave only the misses active.
    let m = 0;
    for (let i = 0; i < job.n; i++) if (keep(i)) job.active[m++] = i;
    job.nActive = m;
  }
  return job;
}

/** One backend call over the active items of `jobs` (a coalesced pack when there are several). */
function written(jobs: ScoreJob[]): string {
  const batch = new Batch();
  for (const job of jobs) for (let k = 0; k < job.nActive; k++) batch.addItem(job, k, 1);
  const w = new ByteWriter(1024);
  writeScoreBody(w, batch);
  return w.view().toString('utf8');
}

function backendBody(raw: Buffer, spans: boolean): string {
  return written([scanned(raw, spans)]);
}

describe('the backend /v1/score body', () => {
  it("copies a Python client's id lists (json.dumps' \", \") as bytes too, items in one run, same ids as printing them", () => {
    fc.assert(
      fc.property(request, (value) => {
        const raw = Buffer.from(pyDumps(value));
        const job = scanned(raw, true);
        // The scanner saw every list as the backend's own spelling.
        expect(job.querySpanStart >= 0 || value.query.length === 0).toBe(true);
        for (let i = 0; i < job.n; i++) if ((value.items[i] as number[]).length > 0) expect(job.idSpan[4 * i]).toBeGreaterThanOrEqual(0);
        const copied = written([job]);
        const printed = backendBody(raw, false);
        expect(JSON.parse(copied)).toEqual(JSON.parse(printed));
        // The items went as one copy of the client's bytes, separators included.
        const items = pyDumps(value.items).slice(1, -1);
        if (value.items.every((it) => it.length > 0)) expect(copied).toContain(`"items":[${items}]`);
      }),
    );
  });


  it("copies the client's canonical id bytes and writes what printing the ids writes", () => {
    fc.assert(
      fc.property(request, fc.boolean(), (value, pretty) => {
        const raw = Buffer.from(JSON.stringify(value, null, pretty ? 1 : undefined));
        const copied = backendBody(raw, true);
        expect(copied).toBe(backendBody(raw, false));
        const sent = JSON.parse(copied) as { query: number[]; items: number[][] };
        expect(sent.query).toEqual(value.query);
        expect(sent.items).toEqual(value.items);
      }),
      { numRuns: 300 },
    );
  });

  it('copies runs correctly around cache hits, empty items and several coalesced requests', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(request, fc.boolean(), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 })), { minLength: 1, maxLength: 3 }), (reqs) => {
        const bodies = reqs.map(([value, pretty]) => Buffer.from(JSON.stringify({ ...value, items: value.items.map((it, i) => (i % 5 === 4 ? [] : it)) }, null, pretty ? 1 : undefined)));
        const keep = (r: number) => (i: number) => (reqs[r]![2][i] as boolean) || i === 0;
        const copied = written(bodies.map((b, r) => scanned(b, true, keep(r))));
        expect(copied).toBe(written(bodies.map((b, r) => scanned(b, false, keep(r)))));
        const sent = JSON.parse(copied) as { items: number[][] };
        const expected = reqs.flatMap(([value], r) => value.items.map((it, i) => (i % 5 === 4 ? [] : it)).filter((_, i) => keep(r)(i)));
        expect(sent.items).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("prints an item whose ids were re-sliced after the scan, never the client's stale bytes", () => {
    const raw = Buffer.from(JSON.stringify({ query: [1, 2], items: [[10, 11, 12], [20, 21, 22]], label_token_ids: [9693], apply_softmax: true }));
    const job = scanned(raw, true);
    // A stage that keeps segment a in the arena but trims it (as a cap would).
    job.aLen[1] = 2;
    expect((JSON.parse(written([job])) as { items: number[][] }).items).toEqual([[10, 11, 12], [20, 21]]);
  });
});
