import { describe, expect, it } from 'vitest';
import { DepthController } from '../../src/control/depth-controller.js';

/** Feeds n samples of value ms spread over the tick interval ending at `now`. */
function feed(c: DepthController, value: number, now: number, n = 50): void {
  for (let i = 0; i < n; i++) c.observe(value, now - 1000 + (i * 1000) / n);
}

describe('DepthController', () => {
  it('starts at 250 between 50 and 1000 by default', () => {
    const c = new DepthController();
    expect([c.depth, c.minDepth, c.maxDepth, c.targetMs]).toEqual([250, 50, 1000, 500]);
    expect(new DepthController({ signal: 'queue-delay' }).targetMs).toBe(50);
    expect(() => new DepthController({ initialDepth: 10 })).toThrow(RangeError);
  });

  it('lowers depth while the windowed p95 is over target and raises it while under', () => {
    const c = new DepthController({ kd: 0 });
    let now = 0;
    for (let i = 0; i < 5; i++) {
      now += 1000;
      feed(c, 1000, now);
      c.tick(now);
    }
    expect(c.depth).toBeLessThan(250);
    expect(c.measuredMs).toBe(1000);
    expect(c.error).toBeCloseTo(Math.log(0.5));
    expect(c.pTerm).toBeLessThan(0);
    expect(c.iTerm).toBeLessThan(0);
    const low = c.depth;
    for (let i = 0; i < 30; i++) {
      now += 1000;
      feed(c, 100, now);
      c.tick(now);
    }
    expect(c.depth).toBeGreaterThan(low);
  });

  it('uses the 95th percentile of the window, not the mean', () => {
    const c = new DepthController();
    // 94% fast, 6% very slow: the mean is under target, the p95 is far over.
    for (let i = 0; i < 100; i++) c.observe(i < 94 ? 50 : 5000, 500 + i);
    c.tick(1000);
    expect(c.measuredMs).toBe(5000);
    expect(c.depth).toBeLessThan(250);
  });

  it('limits the change of depth per tick and per second', () => {
    const c = new DepthController({ maxChangePerTick: 0.1, kp: 5, ki: 5 });
    let prev = c.depth;
    let now = 0;
    for (let i = 0; i < 10; i++) {
      now += 1000;
      feed(c, 10_000, now);
      c.tick(now);
      expect(c.depth / prev).toBeGreaterThanOrEqual(1 / 1.1 - 0.01);
      prev = c.depth;
    }
    const s = new DepthController({ maxChangePerSecond: 0.2, kp: 5 });
    feed(s, 1, 100);
    s.tick(0);
    feed(s, 1, 600);
    s.tick(500); // half a second: at most x1.1
    expect(s.depth).toBeLessThanOrEqual(Math.round(250 * 1.2 * 1.1));
  });

  it('stays within bounds and does not wind up at them', () => {
    const c = new DepthController({ kd: 0 });
    let now = 0;
    for (let i = 0; i < 600; i++) {
      now += 1000;
      feed(c, 10, now);
      c.tick(now);
    }
    expect(c.depth).toBe(1000);
    expect(c.saturated).toBe(true);
    // Ten minutes pinned at the top leave no integral debt: one bad second starts the descent.
    now += 1000;
    feed(c, 1500, now, 200);
    c.tick(now);
    expect(c.depth).toBeLessThan(1000);
    for (let i = 0; i < 600; i++) {
      now += 1000;
      feed(c, 5000, now);
      c.tick(now);
    }
    expect(c.depth).toBe(50);
  });

  it('holds depth while the window has too few samples', () => {
    const c = new DepthController({ minSamples: 20 });
    feed(c, 5000, 1000, 10);
    expect(c.tick(1000)).toBe(250);
    expect(c.measuredMs).toBe(5000);
    expect(c.tick(60_000)).toBe(250);
    expect(c.measuredMs).toBeNaN();
  });

  it('with the queue-delay signal, an empty queue raises depth at the clamped rate', () => {
    const c = new DepthController({ signal: 'queue-delay', kd: 0 });
    feed(c, 0, 1000);
    c.tick(1000);
    expect(c.error).toBeCloseTo(1);
    expect(c.depth).toBeGreaterThan(250);
  });
});
