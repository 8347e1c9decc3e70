import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDouble, parseRow } from '../../src/mem/parse-double.js';

describe('decimal parsing without strings', () => {
  it('equals Number() on every shortest round-trip double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = JSON.stringify(x);
        const b = Buffer.from(text);
        expect(Object.is(parseDouble(b, 0, b.length), Number(text)) || (x === 0 && parseDouble(b, 0, b.length) === 0)).toBe(true);
      }),
      { numRuns: 20000 },
    );
  });

  it('reads Python-style and edge forms exactly', () => {
    for (const t of ['0.9241418242454529', '1e-05', '6.285837271654196e-7', '-0.5', '1', '0', '0.0', '2.5E+3', '123456789012345678']) {
      const b = Buffer.from(t);
      expect(parseDouble(b, 0, b.length), t).toBe(Number(t));
    }
    const n = Buffer.from('null');
    expect(parseDouble(n, 0, n.length)).toBeNaN();
  });

  it('reads score rows', () => {
    const b = Buffer.from('[0.91, 0.09,null]');
    const out = new Float64Array(3);
    expect(parseRow(b, 0, b.length, out, 0)).toBe(3);
    expect(out[0]).toBe(0.91);
    expect(out[1]).toBe(0.09);
    expect(out[2]).toBeNaN();
  });
});
