import { describe, expect, it } from 'vitest';
import { BadGateway } from '../../src/backend/errors.js';
import { readScoreReply } from '../../src/backend/score-reply.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';

function job(n: number, labels: number): ScoreJob {
  const j = new ScoreJob();
  j.reserve(n);
  j.n = n;
  j.nLabels = labels;
  j.selectAll();
  return j;
}

/** A batch holding active items [from, to) of one job. */
function batch(j: ScoreJob, from: number, to: number): Batch {
  const b = new Batch();
  for (let k = from; k < to; k++) b.addItem(j, k, 1);
  return b;
}

describe('reading SGLang score replies without parsing numbers', () => {
  it('records each row as a byte span and reads usage', () => {
    const reply = Buffer.from(
      '{"scores":[[0.91, 0.09],[1e-7,0.5]],"pooled_hidden_states":null,"model":"m","usage":{"prompt_tokens":29,"total_tokens":29,"completion_tokens":0,"prompt_tokens_details":null},"object":"scoring"}',
    );
    const j = job(4, 2);
    expect(readScoreReply(reply, reply.length, batch(j, 2, 4))).toBe(29);
    const row = (i: number): string => reply.toString('utf8', j.rowStart[i], j.rowEnd[i]);
    expect(row(2)).toBe('[0.91, 0.09]');
    expect(row(3)).toBe('[1e-7,0.5]');
  });

  it('accepts SGLang A-era replies with usage null, and NaN rows as null', () => {
    const reply = Buffer.from('{"scores":[[null,0.5]],"model":"m","usage":null,"object":"scoring"}');
    const j = job(1, 2);
    // -1: no usage reported, so scorecar answers usage null too.
    expect(readScoreReply(reply, reply.length, batch(j, 0, 1))).toBe(-1);
  });

  it('throws BadGateway on anything that is not the expected shape', () => {
    for (const text of [
      '{"scores":[[0.5,0.5]]',
      '{"scores":[[0.5]],"object":"scoring"}',
      '{"scores":[[0.5,0.5],[0.1,0.9]]}',
      '{"scores":{"a":1}}',
      'not json',
      '{"object":"scoring"}',
      '{"scores":[["a","b"]]}',
    ]) {
      const b = Buffer.from(text);
      const j = job(1, 2);
      expect(() => readScoreReply(b, b.length, batch(j, 0, 1)), text).toThrow(BadGateway);
    }
  });
});

describe('replies to coalesced batches', () => {
  it('hands each row to the job and item it was sent for', () => {
    const a = job(3, 2);
    const c = job(2, 2);
    // a's items 0 and 2 only (1 was a cache hit), then c's two items.
    a.active[0] = 0;
    a.active[1] = 2;
    a.nActive = 2;
    const b = new Batch();
    b.addItem(a, 0, 1);
    b.addItem(a, 1, 1);
    b.addItem(c, 0, 1);
    b.addItem(c, 1, 1);
    const reply = Buffer.from('{"scores":[[1,0],[2,0],[3,0],[4,0]]}');
    readScoreReply(reply, reply.length, b);
    const row = (j: ScoreJob, i: number): string => reply.toString('utf8', j.rowStart[i], j.rowEnd[i]);
    expect([row(a, 0), row(a, 2), row(c, 0), row(c, 1)]).toEqual(['[1,0]', '[2,0]', '[3,0]', '[4,0]']);
  });
});
