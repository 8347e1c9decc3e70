import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intOut, scanFlags, scanInt32, scanNumber, scanString, skipValue } from '../../src/mem/json-bytes.js';

const buf = (s: string | Uint8Array): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

describe('allocation-free JSON scanning', () => {
  it('skips exactly the values JSON.parse accepts', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const b = buf(text);
        expect(skipValue(b, 0, b.length)).toBe(b.length);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects broken JSON that JSON.parse rejects', () => {
    for (const bad of ['{"a":}', '[1,]', '{"a" 1}', '"unterminated', '01', '1.', '-', 'tru', '{"a":1,}', '"\\x"', '"\\u12g4"', '"tab\there"']) {
      const b = buf(bad);
      const end = skipValue(b, 0, b.length);
      expect(end === b.length, bad).toBe(false);
      expect(() => JSON.parse(bad), bad).toThrow();
    }
  });

  it('validates UTF-8 inside strings like a strict decoder', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const cases: number[][] = [
      [0x22, 0xc3, 0xa9, 0x22], // é
      [0x22, 0xf0, 0x9f, 0x99, 0x82, 0x22], // 🙂
      [0x22, 0xff, 0x22], // invalid lead
      [0x22, 0xc0, 0xaf, 0x22], // overlong
      [0x22, 0xed, 0xa0, 0x80, 0x22], // UTF-16 surrogate
      [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // > U+10FFFF
      [0x22, 0xe2, 0x82, 0x22], // truncated
    ];
    for (const c of cases) {
      const b = buf(new Uint8Array(c));
      let ok = true;
      try {
        strict.decode(b);
      } catch {
        ok = false;
      }
      expect(scanString(b, 0, b.length) === b.length, c.join(',')).toBe(ok);
    }
  });

  it('reports escapes and parses int32 exactly', () => {
    const b = buf('"a\\nb"');
    expect(scanString(b, 0, b.length)).toBe(b.length);
    expect(scanFlags.escaped).toBe(true);
    for (const v of [0, 7, -1, 151643, 2147483647, -2147483648]) {
      const t = buf(String(v));
      expect(scanInt32(t, 0, t.length)).toBe(t.length);
      expect(intOut.value).toBe(v);
    }
    for (const bad of ['2147483648', '1.0', '1e3', '01', '-']) {
      const t = buf(bad);
      expect(scanInt32(t, 0, t.length), bad).toBe(-1);
    }
    const n = buf('-12.5e-3');
    expect(scanNumber(n, 0, n.length)).toBe(n.length);
  });
});
