import { describe, expect, it } from 'vitest';
import { hashBytes, hashOut, numberKey } from '../../src/mem/hash.js';

function h(s: string): [number, number] {
  const b = Buffer.from(s);
  hashBytes(b, 0, b.length);
  return [hashOut[0] as number, hashOut[1] as number];
}

describe('64-bit byte hash', () => {
  it('is deterministic and sensitive to every byte and to length', () => {
    expect(h('job posting')).toEqual(h('job posting'));
    expect(h('job posting')).not.toEqual(h('job postinh'));
    expect(h('a')).not.toEqual(h('a\0'));
    expect(h('')).not.toEqual(h('\0'));
  });

  it('spreads 100k distinct texts without a 53-bit key collision', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++) {
      const [a, b] = h(`item ${i} description`);
      seen.add(numberKey(a, b));
    }
    expect(seen.size).toBe(100_000);
  });
});
