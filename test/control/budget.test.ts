import { describe, expect, it } from 'vitest';
import { AimdBudget, StaticBudget } from '../../src/control/budget.js';

/** Completes one round: a full budget's worth of 1000-token calls at the given latency. */
function round(b: AimdBudget, latencyMs: number, now: number): number {
  const n = Math.max(1, Math.round(b.budget / 1000));
  for (let i = 0; i < n; i++) b.onSample(latencyMs, 1000, b.budget, now);
  return now + latencyMs;
}

describe('StaticBudget', () => {
  it('never moves, and rejects a non-positive budget', () => {
    const b = new StaticBudget(5000);
    b.onSample();
    expect(b.budget).toBe(5000);
    expect(() => new StaticBudget(0)).toThrow(RangeError);
  });
});

describe('AimdBudget', () => {
  it('grows additively while latency stays under an absolute target, up to the ceiling', () => {
    const b = new AimdBudget({ initialTokens: 10_000, minTokens: 2000, maxTokens: 40_000, targetLatencyMs: 100, increaseTokens: 1000 });
    let now = 0;
    now = round(b, 50, now);
    // About one increaseTokens per round.
    expect(b.budget).toBeGreaterThan(10_900);
    expect(b.budget).toBeLessThan(11_100);
    for (let i = 0; i < 100; i++) now = round(b, 50, now);
    expect(b.budget).toBe(40_000);
  });

  it('cuts multiplicatively when latency rises, once per latency, down to the floor', () => {
    const b = new AimdBudget({ initialTokens: 32_000, minTokens: 4000, targetLatencyMs: 100, backoff: 0.5 });
    // Many samples at one instant are one congestion episode: one cut.
    for (let i = 0; i < 10; i++) b.onSample(1000, 1000, 32_000, 0);
    expect(b.budget).toBe(16_000);
    let now = 0;
    for (let i = 0; i < 10; i++) now = round(b, 1000, now + 1);
    expect(b.budget).toBe(4000);
  });

  it('cuts by the overshoot: a half at twice the target or more, the backoff just over it', () => {
    const far = new AimdBudget({ initialTokens: 128_000, minTokens: 4000, targetLatencyMs: 100, smoothing: 1 });
    far.onSample(2600, 1000, 128_000, 0);
    expect(far.budget).toBe(64_000);
    // The next cut waits one smoothed latency (one congestion episode, one cut).
    far.onSample(2600, 1000, 64_000, 1000);
    expect(far.budget).toBe(64_000);
    far.onSample(2600, 1000, 64_000, 2600);
    expect(far.budget).toBe(32_000);
    const near = new AimdBudget({ initialTokens: 100_000, minTokens: 4000, targetLatencyMs: 100, smoothing: 1 });
    near.onSample(110, 1000, 100_000, 0);
    expect(near.budget).toBeCloseTo(80_000, 6);
    const between = new AimdBudget({ initialTokens: 100_000, minTokens: 4000, targetLatencyMs: 100, smoothing: 1 });
    between.onSample(160, 1000, 100_000, 0);
    expect(between.budget).toBeCloseTo(62_500, 6);
  });

  it('does not grow when the budget is barely used (latency then says nothing about more load)', () => {
    const b = new AimdBudget({ initialTokens: 10_000, targetLatencyMs: 100 });
    for (let i = 0; i < 100; i++) b.onSample(10, 1000, 1000, i);
    expect(b.budget).toBe(10_000);
  });

  it('without a target, measures a no-load baseline and backs off at tolerance x baseline', () => {
    const b = new AimdBudget({ initialTokens: 16_000, minTokens: 1000, tolerance: 2, smoothing: 1 });
    let now = 0;
    for (let i = 0; i < 5; i++) now = round(b, 40, now);
    expect(b.baselineMs).toBe(40);
    expect(b.targetMs).toBe(80);
    const grown = b.budget;
    expect(grown).toBeGreaterThan(16_000);
    for (let i = 0; i < 5; i++) now = round(b, 70, now); // under 2x: still fine
    expect(b.budget).toBeGreaterThan(grown);
    const before = b.budget;
    for (let i = 0; i < 5; i++) now = round(b, 200, now);
    expect(b.budget).toBeLessThan(before * 0.5);
    const shrunk = b.budget;
    for (let i = 0; i < 30; i++) now = round(b, 40, now);
    expect(b.budget).toBeGreaterThan(shrunk * 1.5);
  });

  it('forgets an old baseline after its window, so a slower backend is not cut forever', () => {
    const b = new AimdBudget({ initialTokens: 16_000, tolerance: 2, smoothing: 1, baselineWindowMs: 10_000 });
    b.onSample(10, 1000, 16_000, 0);
    expect(b.targetMs).toBe(20);
    for (let t = 1000; t <= 12_000; t += 1000) b.onSample(50, 1000, 16_000, t);
    expect(b.baselineMs).toBe(50);
  });
});
