import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import wabtInit from 'wabt';
import { afterEach, describe, expect, it } from 'vitest';
import { scanScoreBody, useWasmIdScan } from '../../src/api/http/score-scanner.js';
import { idScan, idScanList, idScanOut, idScanReset } from '../../src/mem/id-scan.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { pyDumps } from '../support/py-dumps.js';

const WINDOW = 65536 - 16;

/** The canonical-list rules written plainly: what idScanList must return for the list at b[p]. */
function reference(b: Buffer, p: number, end: number): { q: number; ids: number[] } | null {
  const ids: number[] = [];
  if (p < end && b[p] === 0x5d) return { q: p + 1, ids };
  for (;;) {
    const first = p;
    while (p < end && (b[p] as number) >= 0x30 && (b[p] as number) <= 0x39) p++;
    const digits = b.toString('latin1', first, p);
    if (digits.length === 0 || digits.length > 10 || (digits.length > 1 && digits[0] === '0')) return null;
    const v = Number(digits);
    if (v > 2147483647) return null;
    ids.push(v);
    if (p >= end) return null;
    if (b[p] === 0x2c) {
      p++;
      if (b[p] === 0x20) p++;
    } else if (b[p] === 0x5d) return { q: p + 1, ids };
    else return null;
  }
}

function read(b: Buffer, p: number, end = b.length): { q: number; ids: number[] } | null {
  const q = idScanList(b, p, end);
  if (q < 0) return null;
  return { q, ids: Array.from(idScanOut.subarray(0, idScan.count)) };
}

function maxOf(ids: number[]): number {
  return ids.reduce((m, v) => (v > m ? v : m), -1);
}

afterEach(() => {
  useWasmIdScan(true);
  idScanReset();
});

describe('id-scan.wasm', () => {
  it('is what id-scan.wat assembles to', async () => {
    const wabt = await wabtInit();
    const wat = readFileSync(new URL('../../src/mem/id-scan.wat', import.meta.url), 'utf8');
    const module = wabt.parseWat('id-scan.wat', wat);
    try {
      const built = Buffer.from(module.toBinary({}).buffer);
      expect(built.equals(readFileSync(new URL('../../src/mem/id-scan.wasm', import.meta.url)))).toBe(true);
    } finally {
      module.destroy();
    }
  });

  it('reads the edge cases of the canonical form as the rules say', () => {
    const cases = [
      '[]',
      '[0]',
      '[00]',
      '[01]',
      '[7,0,12]',
      '[2147483647]',
      '[2147483648]',
      '[9999999999]',
      '[10000000000]',
      '[99999999999999999999]',
      '[0000000001]',
      '[1,,2]',
      '[1,]',
      '[,1]',
      '[ 1]',
      '[1 ]',
      '[-1]',
      '[1.0]',
      '[1e3]',
      '[1',
      '[1,',
      '[',
      '[1\u00002]',
      '[1]\u0000',
    ];
    for (const text of cases) {
      idScanReset();
      const b = Buffer.from(text, 'latin1');
      const want = reference(b, 1, b.length);
      const got = read(b, 1);
      expect(got, text).toEqual(want);
      if (got) expect(idScan.max, text).toBe(maxOf(got.ids));
    }
  });

  it('agrees with the rules on random lists, canonical or nearly so', () => {
    const id = fc.oneof(fc.integer({ min: 0, max: 151_935 }), fc.integer({ min: 2_147_483_600, max: 2_147_483_700 }), fc.integer({ min: 0, max: 9 }));
    const token = fc.oneof(
      { weight: 12, arbitrary: id.map(String) },
      { weight: 1, arbitrary: fc.constantFrom('', '0', '00', '-1', ' 1', '1 ', '12345678901', '4294967296', '\u0000', 'x') },
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), fc.boolean(), fc.string({ maxLength: 4 }), (parts, closed, tail) => {
        idScanReset();
        const b = Buffer.from(`{"x":[${parts.join(',')}${closed ? ']' : ''}${tail}`, 'latin1');
        const want = reference(b, 6, b.length);
        expect(read(b, 6)).toEqual(want);
        if (want) expect(idScan.max).toBe(maxOf(want.ids));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads lists across window boundaries in a body past 64 KiB, and declines one longer than a window', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 151_935 }), { maxLength: 900 }), { minLength: 30, maxLength: 60 }), (lists) => {
        idScanReset();
        const text = JSON.stringify(lists);
        const b = Buffer.from(text);
        // Every list start, in order, as the scanner meets them (one window load per crossing).
        let p = 1;
        for (const list of lists) {
          expect(b[p]).toBe(0x5b);
          const got = read(b, p + 1);
          expect(got?.ids).toEqual(list);
          p = (got as { q: number }).q + 1;
        }
      }),
      { numRuns: 30 },
    );
    const long = Buffer.from(`[${Array.from({ length: 20_000 }, (_, i) => i).join(',')}]`);
    expect(long.length).toBeGreaterThan(WINDOW);
    idScanReset();
    expect(idScanList(long, 1, long.length)).toBe(-1);
    // Short enough for one window when it starts one: read in full after a reload.
    const near = Buffer.concat([Buffer.from(`[${'7,'.repeat(30_000)}7]`), Buffer.from(`[${Array.from({ length: 9000 }, (_, i) => i + 100).join(',')}]`)]);
    idScanReset();
    const first = read(near, 1);
    expect(first?.ids.length).toBe(30_001);
    const second = read(near, (first as { q: number }).q + 1);
    expect(second?.ids).toEqual(Array.from({ length: 9000 }, (_, i) => i + 100));
    expect(idScan.max).toBe(9099);
  });

  it('forgets its window when a pooled body buffer is reused with other bytes', () => {
    const b = Buffer.from('[1,2,3][4,5,6]');
    expect(read(b, 1)?.ids).toEqual([1, 2, 3]);
    b.write('[7,8,9][10,11]');
    idScanReset();
    expect(read(b, 8)?.ids).toEqual([10, 11]);
  });

  it('reads only within the end it is given', () => {
    const b = Buffer.from('[1,2,3]');
    idScanReset();
    expect(idScanList(b, 1, 4)).toBe(-1);
    idScanReset();
    expect(read(b, 1, 7)?.ids).toEqual([1, 2, 3]);
  });
});

describe('the /v1/score scanner with and without the WebAssembly reader', () => {
  function fill(raw: Buffer, wasm: boolean): ScoreJob {
    useWasmIdScan(wasm);
    const job = new ScoreJob();
    scanScoreBody(raw, raw.length, job, 100_000);
    return job;
  }

  function same(a: ScoreJob, b: ScoreJob): void {
    expect(a.n).toBe(b.n);
    expect(a.arenaUsed).toBe(b.arenaUsed);
    expect(Array.from(a.arena.subarray(0, a.arenaUsed))).toEqual(Array.from(b.arena.subarray(0, b.arenaUsed)));
    expect(a.idMax).toBe(b.idMax);
    expect(a.idNegative).toBe(b.idNegative);
    expect(Array.from(a.idSpan.subarray(0, 4 * a.n))).toEqual(Array.from(b.idSpan.subarray(0, 4 * b.n)));
    expect(Array.from(a.aOff.subarray(0, a.n))).toEqual(Array.from(b.aOff.subarray(0, b.n)));
    expect(Array.from(a.aLen.subarray(0, a.n))).toEqual(Array.from(b.aLen.subarray(0, b.n)));
    expect([a.queryKind, a.queryOff, a.queryLen, a.itemsKind]).toEqual([b.queryKind, b.queryOff, b.queryLen, b.itemsKind]);
  }

  it('reads a pooled body buffer afresh when the next request reuses it (scanScoreBody resets the window)', () => {
    const b = Buffer.alloc(256);
    const one = '{"query":[1,2,3],"items":[[4,5],[6]]}';
    b.write(one);
    expect(scanScoreBody(b, one.length, new ScoreJob(), 100)).toBe(true);
    const two = '{"query":[9,9,9],"items":[[7,7],[8]]}';
    b.write(two);
    const j = new ScoreJob();
    expect(scanScoreBody(b, two.length, j, 100)).toBe(true);
    expect(Array.from(j.arena.subarray(0, j.arenaUsed))).toEqual([9, 9, 9, 7, 7, 8]);
  });

  it('copies a window per 64 KiB of body, not per list, when the lists are not canonical', () => {
    // A space before each comma: every list is refused at its first space, never at a window's end.
    const items = Array.from({ length: 10_000 }, (_, i) => [i, 7, 151_000, 42]);
    const raw = Buffer.from(`{"query": [1 ,2 ,3], "items": [${items.map((l) => `[${l.join(' ,')}]`).join(', ')}]}`);
    expect(raw.length).toBeGreaterThan(3 * 65536);
    useWasmIdScan(true);
    const before = idScan.loads;
    const job = new ScoreJob();
    expect(scanScoreBody(raw, raw.length, job, 100_000)).toBe(true);
    expect(idScan.loads - before).toBeLessThanOrEqual(Math.ceil(raw.length / WINDOW) + 1);
    expect(job.n).toBe(10_000);
    expect(Array.from(job.arena.subarray(3, 11))).toEqual([0, 7, 151_000, 42, 1, 7, 151_000, 42]);
  });

  it('fills the same job from any id body, small or past a window', () => {
    const id = fc.oneof(fc.integer({ min: 0, max: 151_935 }), fc.integer({ min: -5, max: 2_147_483_647 }));
    fc.assert(
      fc.property(
        fc.array(id, { maxLength: 60 }),
        fc.array(fc.array(id, { maxLength: 400 }), { maxLength: 200 }),
        fc.constantFrom(undefined, 1, 'python'),
        (query, items, style) => {
          const value = { query, items, label_token_ids: [9693, 2152] };
          const raw = Buffer.from(style === 'python' ? pyDumps(value) : JSON.stringify(value, null, style));
          same(fill(raw, true), fill(raw, false));
        },
      ),
      { numRuns: 60 },
    );
  });
});
