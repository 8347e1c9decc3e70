import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/mem/byte-writer.js';
import { TokenCache } from '../../src/tokenize/token-cache.js';

describe('TokenCache', () => {
  it("counts an entry's printed ids in its byte budget, and body writing copies them as printing would", () => {
    const cache = new TokenCache(1 << 20);
    const ids = Int32Array.from({ length: 100 }, (_, i) => 151_000 - i * 1_234);
    const hash = Int32Array.of(1, 2, 3, 4);
    cache.set(hash, 0, 500, ids, -1, -1);
    const printed = ids.join(',');
    // ids (4 bytes each) + their ASCII form + the fixed entry overhead.
    expect(cache.bytes).toBe(ids.byteLength + printed.length + 160);
    const e = cache.get(hash, 0, 500);
    const w = new ByteWriter(64);
    w.ints(e?.ids as Int32Array, 0, ids.length);
    expect(w.view().toString('latin1')).toBe(printed);
  });

  it('evicts by bytes, the printed form included', () => {
    const per = 4 * 64 + 64 * 6 + 160;
    const cache = new TokenCache(per * 10);
    for (let k = 0; k < 30; k++) cache.set(Int32Array.of(k, k, k, k), 0, 10, Int32Array.from({ length: 64 }, () => 10_000 + k), -1, -1);
    expect(cache.bytes).toBeLessThanOrEqual(per * 10);
    expect(cache.size).toBeLessThanOrEqual(10);
  });
});
