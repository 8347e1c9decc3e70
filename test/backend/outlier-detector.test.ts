import { describe, expect, it } from 'vitest';
import { OutlierDetector } from '../../src/backend/outlier-detector.js';

describe('outlier detector', () => {
  it('ejects after the consecutive failures, and a success in between resets the count', () => {
    const o = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 100, maxEjectionMs: 1000 });
    expect(o.onFailure(false, 0)).toBe(false);
    expect(o.onFailure(false, 0)).toBe(false);
    o.onSuccess(false, 0);
    expect(o.onFailure(false, 0)).toBe(false);
    expect(o.onFailure(false, 0)).toBe(false);
    expect(o.onFailure(false, 1)).toBe(true);
    expect(o.state).toBe('open');
    expect(o.available(50)).toBe(false);
    expect(o.msUntilTrial(50)).toBe(51);
  });

  it('a neutral answer (4xx) neither resets nor counts; only a success resets', () => {
    const o = new OutlierDetector({ consecutiveFailures: 2 });
    o.onFailure(false, 0);
    o.onNeutral(false);
    expect(o.onFailure(false, 0)).toBe(true);
  });

  it('re-admits through one half-open trial; a failed trial doubles the ejection, up to the cap', () => {
    const o = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 300 });
    o.onFailure(false, 0); // ejected until 100
    expect(o.available(99)).toBe(false);
    expect(o.available(100)).toBe(true);
    expect(o.state).toBe('half-open');
    expect(o.onSend()).toBe(true); // the trial
    expect(o.available(101)).toBe(false); // one trial at a time
    expect(o.onFailure(true, 110)).toBe(true); // ejected again for 200
    expect(o.available(309)).toBe(false);
    expect(o.available(310)).toBe(true);
    o.onSend();
    o.onFailure(true, 310); // 400 capped at 300
    expect(o.ejectedUntil).toBe(610);
    expect(o.available(610)).toBe(true);
    const trial = o.onSend();
    o.onSuccess(trial, 620);
    expect(o.state).toBe('closed');
    expect(o.ejections).toBe(3);
  });

  it('a cancelled trial frees the slot for another', () => {
    const o = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 10 });
    o.onFailure(false, 0);
    expect(o.available(10)).toBe(true);
    const t = o.onSend();
    expect(o.available(11)).toBe(false);
    o.onNeutral(t);
    expect(o.available(12)).toBe(true);
  });

  it('reset() after a restart closes the breaker', () => {
    const o = new OutlierDetector({ consecutiveFailures: 1 });
    o.onFailure(false, 0);
    o.reset();
    expect(o.state).toBe('closed');
    expect(o.available(0)).toBe(true);
  });
});
