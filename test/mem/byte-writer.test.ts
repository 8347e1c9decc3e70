import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, fixed3Text, keepIdText, lit } from '../../src/mem/byte-writer.js';
import { mulberry32 } from '../support/random-texts.js';

describe('ByteWriter', () => {
  it('writes three decimals as fixed3Text spells them, and as toFixed(3) does away from rounding ties', () => {
    const w = new ByteWriter(8);
    const check = (x: number): void => {
      w.reset();
      w.fixed3(x);
      const text = w.view().toString('latin1');
      expect(text).toBe(fixed3Text(x));
      const m = x * 1000;
      if (Math.abs(Math.abs(m - Math.trunc(m)) - 0.5) > 1e-6 && Math.abs(m) < 1e15) expect(text).toBe(x.toFixed(3));
    };
    for (const x of [0, 0.0004, 0.0005, 0.9995, 1, 1.5, 999.9999, 12345.678, -0.25, -3.0004, 2147483.647, 2147483.648, 1e12, NaN, Infinity, -Infinity]) check(x);
    fc.assert(fc.property(fc.double({ min: -1e7, max: 1e7, noNaN: true }), check), { numRuns: 5000 });
    fc.assert(fc.property(fc.double({ min: 0, max: 100, noNaN: true }), check), { numRuns: 5000 });
  });

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

  it('copies spans of every length and place the same way: by loop or by copyBytes', () => {
    const rnd = mulberry32(4);
    for (let run = 0; run < 300; run++) {
      const src = Buffer.alloc(1 + Math.floor(rnd() * 3000));
      for (let i = 0; i < src.length; i++) src[i] = Math.floor(rnd() * 256);
      const start = rnd() < 0.5 ? 0 : Math.floor(rnd() * src.length);
      const end = start + Math.floor(rnd() * (src.length - start + 1));
      const w = new ByteWriter(8);
      w.raw(lit('<'));
      w.bytes(src, start, end);
      w.raw(lit('>'));
      expect(w.view()).toEqual(Buffer.concat([Buffer.from('<'), src.subarray(start, end), Buffer.from('>')]));
      w.release();
    }
  });

  it("copies a kept array's printed form, byte for byte what printing gives, and prints parts and short arrays as before", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -2147483648, max: 2147483647 }), { minLength: 0, maxLength: 300 }), (xs) => {
        const ids = Int32Array.from(xs);
        const printed = new ByteWriter(64);
        printed.ints(ids, 0, ids.length);
        const want = printed.view().toString('latin1');
        expect(want).toBe(xs.join(','));
        const kept = keepIdText(ids);
        expect(kept).toBe(ids.length >= 8 ? want.length : 0);
        const w = new ByteWriter(64);
        w.byte(0x5b);
        w.ints(ids, 0, ids.length);
        w.byte(0x5d);
        if (ids.length > 2) w.ints(ids, 1, ids.length - 1);
        expect(w.view().toString('latin1')).toBe(`[${want}]${ids.length > 2 ? xs.slice(1).join(',') : ''}`);
      }),
    );
  });
});
