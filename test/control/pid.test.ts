import { describe, expect, it } from 'vitest';
import { Pid, type PidOptions } from '../../src/control/pid.js';

const base: PidOptions = { kp: 0.5, ki: 0.2, bias: 0, outMin: -1, outMax: 1 };

describe('Pid', () => {
  it('is proportional plus integral inside its limits', () => {
    const pid = new Pid(base);
    expect(pid.update(0.4, 1)).toBeCloseTo(0.5 * 0.4 + 0.2 * 0.4);
    expect(pid.pTerm).toBeCloseTo(0.2);
    expect(pid.iTerm).toBeCloseTo(0.08);
    expect(pid.update(0.4, 1)).toBeCloseTo(0.2 + 0.16);
  });

  it('does not wind up while the output sits at a bound', () => {
    const pid = new Pid(base);
    for (let i = 0; i < 1000; i++) pid.update(1, 1);
    expect(pid.output).toBe(1);
    expect(pid.isSaturated).toBe(true);
    // The integral is clamped to what the output range can use.
    expect(pid.iTerm).toBeLessThanOrEqual(1);
    // When the error reverses the output leaves the bound at once, not after unwinding 1000 s.
    pid.update(-0.2, 1);
    expect(pid.output).toBeLessThan(1);
    const naive = 0.2 * 1000 - 0.5 * 0.2; // what an unprotected integral would still ask for
    expect(naive).toBeGreaterThan(1);
  });

  it('stops integrating while the rate limit holds the output, so it does not overshoot after', () => {
    const pid = new Pid({ ...base, outMin: -10, outMax: 10, maxStepPerUpdate: 0.05 });
    for (let i = 0; i < 20; i++) {
      const before = pid.output;
      pid.update(1, 1);
      expect(pid.output - before).toBeLessThanOrEqual(0.05 + 1e-12);
    }
    expect(pid.output).toBeCloseTo(1);
    // Only the first updates integrated (until P + I alone passed the limited output).
    expect(pid.iTerm).toBeLessThan(0.6);
    // On target the output settles on the integral instead of climbing further.
    for (let i = 0; i < 40; i++) pid.update(0, 1);
    expect(pid.output).toBeCloseTo(pid.iTerm);
    expect(pid.output).toBeLessThan(1);
  });

  it('limits the change per second of dt', () => {
    const pid = new Pid({ ...base, kp: 10, outMin: -100, outMax: 100, maxStepPerSecond: 0.1 });
    pid.update(1, 0.5);
    expect(pid.output).toBeCloseTo(0.05);
    pid.update(-1, 2);
    expect(pid.output).toBeCloseTo(-0.15);
  });

  it('ignores errors inside the deadband', () => {
    const pid = new Pid({ ...base, deadband: 0.1 });
    pid.update(0.3, 1);
    const out = pid.output;
    const i = pid.iTerm;
    pid.update(0.05, 1);
    expect(pid.error).toBe(0);
    expect(pid.iTerm).toBe(i);
    expect(pid.output).toBeCloseTo(out - 0.15); // the P part goes, the integral stays
  });

  it('has a derivative term that opposes a fast-growing error', () => {
    const pid = new Pid({ ...base, kp: 0, ki: 0, kd: 1, derivativeSmoothing: 1 });
    pid.update(0, 1);
    pid.update(0.5, 1);
    expect(pid.dTerm).toBeCloseTo(0.5);
    pid.update(0.5, 1);
    expect(pid.dTerm).toBeCloseTo(0);
  });

  it('reset() keeps the output and forgets the error history', () => {
    const pid = new Pid(base);
    pid.update(0.5, 1);
    const out = pid.output;
    pid.reset();
    expect(pid.output).toBe(out);
    expect(pid.update(0, 1)).toBeCloseTo(out);
  });
});
