import { describe, expect, it } from 'vitest';
import { burstConfigError, burstRates, scheduleArrivals } from '../../bench/loadgen/arrivals.js';
import { Rng } from '../../bench/rng.js';

function gaps(offsets: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < offsets.length; i++) out.push((offsets[i] as number) - (offsets[i - 1] as number));
  return out;
}

/** Kolmogorov-Smirnov distance between a sample and the exponential CDF with the given mean. */
function ksExponential(sample: number[], mean: number): number {
  const xs = sample.slice().sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = 1 - Math.exp(-x / mean);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}

describe('Poisson arrivals', () => {
  const rps = 200;
  const offsets = scheduleArrivals({ rps, burst: null }, 100_000, new Rng(42));
  const g = gaps(offsets);

  it('has the configured mean rate', () => {
    expect(offsets.length).toBeGreaterThan(10_000);
    // 20,000 expected; Poisson sd ~141, so 2% is > 2.8 sd.
    expect(offsets.length / 100).toBeGreaterThan(rps * 0.98);
    expect(offsets.length / 100).toBeLessThan(rps * 1.02);
  });

  it('has exponentially distributed gaps (moments and KS)', () => {
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    const variance = g.reduce((a, b) => a + (b - mean) ** 2, 0) / (g.length - 1);
    expect(mean).toBeCloseTo(1000 / rps, 1);
    // Exponential: coefficient of variation 1, skewness 2.
    expect(Math.sqrt(variance) / mean).toBeGreaterThan(0.97);
    expect(Math.sqrt(variance) / mean).toBeLessThan(1.03);
    const skew = g.reduce((a, b) => a + ((b - mean) / Math.sqrt(variance)) ** 3, 0) / g.length;
    expect(skew).toBeGreaterThan(1.8);
    expect(skew).toBeLessThan(2.2);
    // KS critical value at alpha = 0.01 is 1.63 / sqrt(n).
    expect(ksExponential(g, 1000 / rps)).toBeLessThan(1.63 / Math.sqrt(g.length));
  });

  it('is sorted, within the window, and the same for the same seed', () => {
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThanOrEqual(offsets[i - 1] as number);
    expect(offsets[offsets.length - 1]).toBeLessThan(100_000);
    expect(scheduleArrivals({ rps, burst: null }, 100_000, new Rng(42))).toEqual(offsets);
    expect(scheduleArrivals({ rps, burst: null }, 100_000, new Rng(43))).not.toEqual(offsets);
  });
});

describe('on/off modulated arrivals', () => {
  const burst = { ratio: 3, onSeconds: 1, offSeconds: 4 };

  it('keeps the mean rate and concentrates arrivals in the on periods', () => {
    const rps = 100;
    const offsets = scheduleArrivals({ rps, burst }, 500_000, new Rng(7));
    const rate = offsets.length / 500;
    expect(rate).toBeGreaterThan(rps * 0.97);
    expect(rate).toBeLessThan(rps * 1.03);
    // Per-second counts are overdispersed (a Poisson process has variance = mean).
    const perSecond = new Array<number>(500).fill(0);
    for (const t of offsets) perSecond[Math.floor(t / 1000)]! += 1;
    const m = perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
    const v = perSecond.reduce((a, b) => a + (b - m) ** 2, 0) / perSecond.length;
    expect(v / m).toBeGreaterThan(10);
    // The busiest seconds run near ratio x mean, the quietest near the off rate.
    const sorted = perSecond.slice().sort((a, b) => b - a);
    const top = sorted.slice(0, 50).reduce((a, b) => a + b, 0) / 50;
    expect(top).toBeGreaterThan(rps * burst.ratio * 0.85);
  });

  it('derives the off rate from the mean, and rejects ratios that cannot keep it', () => {
    expect(burstRates(100, burst)).toEqual({ on: 300, off: 50 });
    expect(burstConfigError(burst)).toBeNull();
    expect(burstConfigError({ ratio: 5, onSeconds: 1, offSeconds: 4 })).toBeNull(); // off rate 0
    expect(burstConfigError({ ratio: 5.5, onSeconds: 1, offSeconds: 4 })).toMatch(/cannot keep the mean/);
    expect(burstConfigError({ ratio: 0.5, onSeconds: 1, offSeconds: 4 })).toMatch(/>= 1/);
    // With an off rate of 0, everything arrives in bursts and the mean still holds.
    const offsets = scheduleArrivals({ rps: 50, burst: { ratio: 5, onSeconds: 1, offSeconds: 4 } }, 400_000, new Rng(3));
    expect(offsets.length / 400).toBeGreaterThan(48);
    expect(offsets.length / 400).toBeLessThan(52);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and per derived stream', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(1)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextU32())(new Rng(1)));
    expect(a).toEqual(b);
    expect(Rng.derive(1, 'job', 3).next()).toBe(Rng.derive(1, 'job', 3).next());
    expect(Rng.derive(1, 'job', 3).next()).not.toBe(Rng.derive(1, 'job', 4).next());
    const r = new Rng(9);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });
});
