import { describe, expect, it } from 'vitest';
import { type Cancellable, CancelScope } from '../../src/mem/cancel-scope.js';

function call(log: string[], name: string, onCancel?: () => void): Cancellable {
  return {
    cancel: () => {
      log.push(name);
      onCancel?.();
    },
  };
}

describe('CancelScope', () => {
  it('cancels the calls still registered, once each, and none that left', () => {
    const s = new CancelScope();
    const log: string[] = [];
    const a = call(log, 'a');
    const b = call(log, 'b');
    const c = call(log, 'c');
    s.add(a);
    s.add(b);
    s.add(c);
    s.delete(b);
    s.delete(b); // twice: harmless
    s.cancelAll();
    expect(log.sort()).toEqual(['a', 'c']);
    expect(s.cancelled).toBe(true);
    s.cancelAll();
    expect(log).toHaveLength(2);
  });

  it('survives a call that deletes itself or adds another while being cancelled', () => {
    const s = new CancelScope();
    const log: string[] = [];
    const late = call(log, 'late');
    const self: Cancellable = call(log, 'self', () => s.delete(self));
    const adder = call(log, 'adder', () => s.add(late));
    s.add(call(log, 'x'));
    s.add(self);
    s.add(adder);
    s.cancelAll();
    expect(log.sort()).toEqual(['adder', 'late', 'self', 'x']);
  });

  it('forgets its calls on reset: a reused scope never cancels the last request\'s calls', () => {
    const s = new CancelScope();
    const log: string[] = [];
    s.add(call(log, 'old'));
    s.cancelAll();
    s.reset();
    expect(s.cancelled).toBe(false);
    s.add(call(log, 'stale'));
    s.reset();
    s.add(call(log, 'new'));
    s.cancelAll();
    expect(log).toEqual(['old', 'new']);
  });

  it('keeps many calls and deletes any of them, in any order', () => {
    const s = new CancelScope();
    const log: string[] = [];
    const calls = Array.from({ length: 40 }, (_, i) => call(log, String(i)));
    for (const c of calls) s.add(c);
    for (let i = 0; i < 40; i += 3) s.delete(calls[i] as Cancellable);
    s.cancelAll();
    const expected = calls.map((_, i) => String(i)).filter((_, i) => i % 3 !== 0);
    expect(log.sort()).toEqual(expected.sort());
  });
});
