import { describe, expect, it } from 'vitest';
import { defaultOverlap, planWindows } from '../../src/pipeline/rerank-windows.js';

describe('rerank windows', () => {
  it('keeps a document that fits whole, and truncates when one window is allowed', () => {
    expect(planWindows(10, 32, 10, 4)).toEqual({ starts: [0], ends: [10] });
    expect(planWindows(100, 32, 1, 4)).toEqual({ starts: [0], ends: [32] });
  });

  it('covers a long document with overlapping windows, at most max of them', () => {
    const p = planWindows(100, 32, 10, 4);
    expect(p.starts).toEqual([0, 28, 56, 84]);
    expect(p.ends).toEqual([32, 60, 88, 100]);
    for (let w = 1; w < p.starts.length; w++) expect((p.ends[w - 1] as number) - (p.starts[w] as number)).toBe(4);
    expect(planWindows(1000, 32, 3, 4).starts).toEqual([0, 28, 56]);
  });

  it('always advances, whatever the overlap', () => {
    expect(planWindows(5, 1, 10, 7).starts).toEqual([0, 1, 2, 3, 4]);
    expect(defaultOverlap(4096)).toBe(128);
    expect(defaultOverlap(32)).toBe(4);
  });
});
