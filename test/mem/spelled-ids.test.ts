import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/mem/byte-writer.js';
import { spellIds, spelledIds } from '../../src/mem/spelled-ids.js';

describe('spelled ids', () => {
  it('remembers the comma-separated spelling of the whole array, per array', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { maxLength: 3000 }), (xs) => {
        const ids = Int32Array.from(xs);
        const w = new ByteWriter(64);
        w.ints(ids, 0, ids.length);
        expect(spellIds(ids)).toBe(w.pos);
        expect(spelledIds(ids)?.toString('latin1')).toBe(xs.join(','));
        // Another array with the same ids has no spelling until it is given one.
        expect(spelledIds(Int32Array.from(xs))).toBeUndefined();
      }),
    );
  });

  it('gives each spelling a buffer of its own', () => {
    const a = Int32Array.from([1, 2, 3]);
    const b = Int32Array.from([4, 5]);
    spellIds(a);
    spellIds(b);
    expect(spelledIds(a)!.buffer).not.toBe(spelledIds(b)!.buffer);
    expect(spelledIds(a)!.toString()).toBe('1,2,3');
  });
});
