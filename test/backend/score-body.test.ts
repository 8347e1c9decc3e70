import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanScoreBody } from '../../src/api/http/score-scanner.js';
import { writeScoreBody } from '../../src/backend/score-body.js';
import { ByteWriter } from '../../src/mem/byte-writer.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { resolveIds } from '../../src/pipeline/tokenize-stage.js';

const ids = fc.array(fc.integer({ min: 0, max: 151642 }), { maxLength: 40 });
const request = fc.record({
  query: ids,
  items: fc.array(ids, { minLength: 1, maxLength: 12 }),
  label_token_ids: fc.array(fc.integer({ min: 0, max: 151642 }), { minLength: 1, maxLength: 3 }),
  apply_softmax: fc.boolean(),
  item_first: fc.boolean(),
});

function backendBody(raw: Buffer, spans: boolean): string {
  const job = new ScoreJob();
  expect(scanScoreBody(raw, raw.length, job)).toBe(true);
  if (!spans) {
    job.idSpan.fill(-1);
    job.querySpanStart = job.querySpanEnd = -1;
  }
  resolveIds(job);
  job.selectAll();
  const batch = new Batch();
  for (let k = 0; k < job.n; k++) batch.addItem(job, k, 1);
  const w = new ByteWriter(1024);
  writeScoreBody(w, batch);
  return w.view().toString('utf8');
}

describe('the backend /v1/score body', () => {
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
});
