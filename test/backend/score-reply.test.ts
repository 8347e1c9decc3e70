import { describe, expect, it } from 'vitest';
import { BadGateway } from '../../src/backend/errors.js';
import { readScoreReply } from '../../src/backend/score-reply.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';

function job(n: number, labels: number): ScoreJob {
  const j = new ScoreJob();
  j.reserve(n);
  j.n = n;
  j.nLabels = labels;
  return j;
}

describe('reading SGLang score replies without parsing numbers', () => {
  it('records each row as a byte span and reads usage', () => {
    const reply = Buffer.from(
      '{"scores":[[0.91, 0.09],[1e-7,0.5]],"pooled_hidden_states":null,"model":"m","usage":{"prompt_tokens":29,"total_tokens":29,"completion_tokens":0,"prompt_tokens_details":null},"object":"scoring"}',
    );
    const j = job(4, 2);
    expect(readScoreReply(reply, reply.length, j, 2, 4)).toBe(29);
    const row = (i: number): string => reply.toString('utf8', j.rowStart[i], j.rowEnd[i]);
    expect(row(2)).toBe('[0.91, 0.09]');
    expect(row(3)).toBe('[1e-7,0.5]');
  });

  it('accepts SGLang A-era replies with usage null, and NaN rows as null', () => {
    const reply = Buffer.from('{"scores":[[null,0.5]],"model":"m","usage":null,"object":"scoring"}');
    expect(readScoreReply(reply, reply.length, job(1, 2), 0, 1)).toBe(0);
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
      expect(() => readScoreReply(b, b.length, job(1, 2), 0, 1), text).toThrow(BadGateway);
    }
  });
});
