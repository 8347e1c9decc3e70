import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, lit } from '../../src/mem/byte-writer.js';

describe('ByteWriter', () => {
  it('writes int arrays exactly as JSON does', () => {
    const w = new ByteWriter(16);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -2147483648, max: 2147483647 }), { maxLength: 300 }), (xs) => {
        w.reset();
        w.byte(0x5b);
        w.ints(Int32Array.from(xs), 0, xs.length);
        w.byte(0x5d);
        expect(w.view().toString()).toBe(JSON.stringify(xs));
      }),
    );
  });

  it('writes every digit-count boundary and both int32 ends, alone and in lists', () => {
    const edges = [-2147483648, -100, -10, -1, 0, 1, 9, 10, 99, 100, 101, 999, 1000, 99999, 100000, 151935, 999999, 1000000, 99999999, 100000000, 999999999, 1000000000, 2147483647];
    const w = new ByteWriter(16);
    for (const v of edges) {
      w.reset();
      w.int(v);
      expect(w.view().toString()).toBe(String(v));
    }
    w.reset();
    w.ints(Int32Array.from(edges), 0, edges.length);
    expect(w.view().toString()).toBe(edges.join(','));
  });

  it('writes numbers, strings and fragments, growing as needed', () => {
    const w = new ByteWriter(16);
    w.raw(lit('{"a":'));
    w.number(0.1 + 0.2);
    w.raw(lit(',"b":'));
    w.int(-42);
    w.raw(lit(',"c":'));
    w.jsonString('é "quoted" 🙂\n');
    const long = Buffer.from('x'.repeat(5000));
    w.raw(lit(',"d":"'));
    w.bytes(long, 10, 4010);
    w.raw(lit('"}'));
    expect(JSON.parse(w.view().toString())).toEqual({ a: 0.1 + 0.2, b: -42, c: 'é "quoted" 🙂\n', d: 'x'.repeat(4000) });
    w.release();
  });
});
