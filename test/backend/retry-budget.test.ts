import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/backend/retry-budget.js';

describe('retry budget', () => {
  it('allows about ratio x calls once the reserve is spent', () => {
    const b = new RetryBudget({ ratio: 0.2, minPerSecond: 0 }, 0);
    let allowed = 0;
    for (let i = 0; i < 1000; i++) {
      b.deposit();
      // Every call fails and asks for a retry: only a fifth get one.
      if (b.tryWithdraw(0)) allowed++;
    }
    expect(allowed).toBeGreaterThanOrEqual(199);
    expect(allowed).toBeLessThanOrEqual(200);
    expect(b.refusals).toBe(1000 - allowed);
  });

  it('the reserve lets light traffic retry, refilling with time only', () => {
    const b = new RetryBudget({ ratio: 0.2, minPerSecond: 2 }, 0);
    expect(b.tryWithdraw(0)).toBe(true);
    expect(b.tryWithdraw(0)).toBe(true);
    expect(b.tryWithdraw(0)).toBe(false);
    expect(b.tryWithdraw(500)).toBe(true); // half a second: one more
    expect(b.tryWithdraw(500)).toBe(false);
  });

  it('refuses nonsense settings', () => {
    expect(() => new RetryBudget({ ratio: 2 })).toThrow(RangeError);
    expect(() => new RetryBudget({ minPerSecond: -1 })).toThrow(RangeError);
  });
});
