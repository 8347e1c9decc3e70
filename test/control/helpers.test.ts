import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/control/deque.js';
import { parsePriority } from '../../src/control/priority.js';
import { VirtualClock } from '../../src/control/virtual-clock.js';
import { WindowQuantile, select } from '../../src/control/window-quantile.js';

describe('Deque', () => {
  it('behaves like an array used as a double-ended queue, across growth', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer())), (ops) => {
        const d = new Deque<number>(4);
        const ref: number[] = [];
        for (const [op, v] of ops) {
          if (op <= 1) {
            d.pushBack(v);
            ref.push(v);
          } else if (op === 2) expect(d.popFront()).toBe(ref.shift());
          else if (op === 3) expect(d.popBack()).toBe(ref.pop());
          else {
            d.retain((x) => x % 2 === 0);
            ref.splice(0, ref.length, ...ref.filter((x) => x % 2 === 0));
          }
          expect(d.length).toBe(ref.length);
          expect(d.peekFront()).toBe(ref[0]);
          expect(d.peekBack()).toBe(ref[ref.length - 1]);
        }
      }),
    );
  });
});

describe('select and WindowQuantile', () => {
  it('select finds the k-th smallest without sorting', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }), fc.nat(), (xs, k0) => {
        const k = k0 % xs.length;
        const sorted = [...xs].sort((a, b) => a - b);
        expect(select(Float64Array.from(xs), xs.length, k)).toBe(sorted[k]);
      }),
    );
    // Already sorted and constant inputs (common for latencies) stay correct.
    const asc = Float64Array.from({ length: 1000 }, (_, i) => i);
    expect(select(asc, 1000, 949)).toBe(949);
    expect(select(new Float64Array(50).fill(3), 50, 10)).toBe(3);
  });

  it('computes a nearest-rank quantile over a sliding time window', () => {
    const w = new WindowQuantile(1000, 64);
    expect(w.quantile(0.95, 0)).toBeNaN();
    for (let i = 1; i <= 100; i++) w.add(i, i * 10); // values 1..100 at t = 10..1000 ms
    // The ring holds the last 64 samples (37..100).
    expect(w.size).toBe(64);
    expect(w.quantile(0.5, 1000)).toBe(68);
    // At t = 1500 only samples from t >= 500 remain: values 50..100.
    expect(w.quantile(0.95, 1500)).toBe(98);
    expect(w.quantile(1, 1500)).toBe(100);
    expect(w.mean(1500)).toBe(75);
    expect(w.quantile(0.95, 5000)).toBeNaN();
  });
});

describe('VirtualClock', () => {
  it('fires timers in time order as time passes them, and not after clearTimer', () => {
    const c = new VirtualClock(0);
    const fired: Array<[string, number]> = [];
    const log = (name: string): void => {
      fired.push([name, c.now()]);
    };
    c.setTimer(30, log, 'b');
    const cancelled = c.setTimer(20, log, 'x');
    c.setTimer(10, log, 'a');
    c.setTimer(30, log, 'c');
    c.clearTimer(cancelled);
    c.advanceTo(25);
    expect(fired).toEqual([['a', 10]]);
    expect(c.now()).toBe(25);
    expect(c.nextTimerAt()).toBe(30);
    c.advanceBy(100);
    expect(fired).toEqual([
      ['a', 10],
      ['b', 30],
      ['c', 30],
    ]);
    expect(c.pendingTimers).toBe(0);
  });
});

describe('parsePriority', () => {
  it('defaults to online and rejects unknown classes', () => {
    expect(parsePriority(undefined)).toBe('online');
    expect(parsePriority(' Nearline ')).toBe('nearline');
    expect(parsePriority('batch')).toBeNull();
  });
});
