import { describe, expect, it } from 'vitest';
import { HASH_INIT, hashIds, relevance, scoreRow, tokenLogprob } from '../../src/emulator/model.js';

describe('the emulator scoring model', () => {
  it('is a pure function of the prompt ids, however they are split', () => {
    const whole = hashIds(HASH_INIT, [1, 2, 3, 4, 5]);
    expect(hashIds(hashIds(HASH_INIT, [1, 2]), [3, 4, 5])).toBe(whole);
    expect(hashIds(HASH_INIT, Int32Array.of(1, 2, 3, 4, 5))).toBe(whole);
    expect(hashIds(HASH_INIT, [1, 2, 3, 4, 6])).not.toBe(whole);
  });

  it('softmax over yes/no gives the prompt relevance; raw probabilities stay below one', () => {
    for (let k = 0; k < 200; k++) {
      const h = hashIds(HASH_INIT, [k, k * 7]);
      const soft: number[] = [];
      scoreRow(h, [9693, 2152], true, soft);
      expect((soft[0] as number) + (soft[1] as number)).toBeCloseTo(1, 6);
      expect(soft[0]).toBeCloseTo(relevance(h), 5);
      const raw: number[] = [];
      scoreRow(h, [9693, 2152, 9454, 2753, 100], false, raw);
      const sum = raw.reduce((a, b) => a + b, 0);
      expect(sum).toBeLessThan(1);
      expect(sum).toBeGreaterThan(0.89);
      expect(tokenLogprob(h, 100)).toBe(Math.fround(tokenLogprob(h, 100)));
    }
  });

  it('spreads relevance over the whole range', () => {
    const rs = Array.from({ length: 2000 }, (_, k) => relevance(hashIds(HASH_INIT, [k])));
    expect(Math.min(...rs)).toBeLessThan(0.05);
    expect(Math.max(...rs)).toBeGreaterThan(0.95);
  });
});
