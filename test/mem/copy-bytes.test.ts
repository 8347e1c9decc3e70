import { describe, expect, it } from 'vitest';
import { copyBytes, copyPath } from '../../src/mem/copy-bytes.js';
import { mulberry32 } from '../support/random-texts.js';

describe('copyBytes', () => {
  it("copies through node's binding on this node (no view per call), as Buffer#copy would, for every span and place", () => {
    expect(copyPath).toBe('binding');
    const rnd = mulberry32(7);
    for (let run = 0; run < 500; run++) {
      const src = Buffer.alloc(1 + Math.floor(rnd() * 5000));
      for (let i = 0; i < src.length; i++) src[i] = Math.floor(rnd() * 256);
      const srcStart = Math.floor(rnd() * (src.length + 1));
      const srcEnd = srcStart + Math.floor(rnd() * (src.length - srcStart + 1));
      const dst = Buffer.alloc(srcEnd - srcStart + Math.floor(rnd() * 100), 0xee);
      const dstStart = Math.floor(rnd() * (dst.length - (srcEnd - srcStart) + 1));
      const want = Buffer.from(dst);
      src.copy(want, dstStart, srcStart, srcEnd);
      expect(copyBytes(src, srcStart, srcEnd, dst, dstStart)).toBe(srcEnd - srcStart);
      expect(dst).toEqual(want);
    }
  });

  it('copies views at an offset into their buffers, and overlapping spans of one buffer as TypedArray#set does', () => {
    const whole = Buffer.from('0123456789abcdefghij');
    const src = whole.subarray(5, 15);
    const dst = Buffer.alloc(12, 0x2e).subarray(2);
    copyBytes(src, 2, 6, dst, 3);
    expect(dst.toString()).toBe('...789a...');
    const same = Buffer.from('abcdefghij');
    copyBytes(same, 0, 6, same, 2);
    expect(same.toString()).toBe('ababcdefij');
  });

  it('refuses a span outside either buffer, or at positions that are not whole numbers, before copying anything', () => {
    const src = Buffer.from('abcdef');
    const dst = Buffer.alloc(4, 0x2e);
    for (const [s, e, d] of [
      [-1, 2, 0],
      [0, 7, 0],
      [3, 2, 0],
      [0, 5, 0],
      [0, 2, 3],
      [0, 1, -1],
      [0.5, 2, 0],
      [0, 1.5, 0],
      [0, 1, 0.25],
      [Number.NaN, 1, 0],
    ] as const) {
      expect(() => copyBytes(src, s, e, dst, d)).toThrow(RangeError);
    }
    expect(dst.toString()).toBe('....');
    expect(copyBytes(src, 2, 2, dst, 4)).toBe(0);
  });
});
