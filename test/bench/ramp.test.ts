import { describe, expect, it } from 'vitest';
import { rampPhases, rampSchedule, runRamp, trapezoidRamp } from '../../bench/loadgen/ramp.js';
import type { BenchRequest, ScoreTarget, SendResult } from '../../bench/loadgen/target.js';
import { constantSource } from './fakes.js';

describe('ramp schedule', () => {
  it('puts each arrival in its window, at about the window rate, the same for the same seed', () => {
    const cfg = { windows: [{ rps: 50, durationMs: 4000 }, { rps: 400, durationMs: 4000 }, { rps: 0, durationMs: 1000 }], timeoutMs: 1000, seed: 3 };
    const { offsets, window } = rampSchedule(cfg);
    expect(offsets.length).toBe(window.length);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i] as number).toBeGreaterThanOrEqual(offsets[i - 1] as number);
    const count = [0, 0, 0];
    offsets.forEach((o, i) => {
      const w = window[i] as number;
      count[w]!++;
      expect(o).toBeGreaterThanOrEqual(w * 4000);
      expect(o).toBeLessThan((w + 1) * 4000);
    });
    expect(count[0]).toBeGreaterThan(150);
    expect(count[0]).toBeLessThan(250);
    expect(count[1]).toBeGreaterThan(1450);
    expect(count[1]).toBeLessThan(1750);
    expect(count[2]).toBe(0);
    expect(Array.from(rampSchedule(cfg).offsets)).toEqual(Array.from(offsets));
    // Changing one window's rate leaves the other windows' arrivals alone.
    const changed = rampSchedule({ ...cfg, windows: [cfg.windows[0]!, { rps: 200, durationMs: 4000 }, cfg.windows[2]!] });
    expect(Array.from(changed.offsets).filter((_, i) => changed.window[i] === 0)).toEqual(Array.from(offsets).filter((_, i) => window[i] === 0));
  });

  it('trapezoid: low, climb, peak, descent, low, labelled by phase', () => {
    const w = trapezoidRamp({ lowRps: 2, peakRps: 12, holdLowS: 10, rampS: 10, holdPeakS: 10, windowS: 5, holdLowEndS: 5 });
    expect(w.map((x) => x.rps)).toEqual([2, 2, 4.5, 9.5, 12, 12, 9.5, 4.5, 2]);
    expect(w.every((x) => x.durationMs === 5000)).toBe(true);
    expect(rampPhases(w).map((p) => [p.phase, p.windows.length])).toEqual([
      ['off-peak (start)', 2],
      ['ramp up', 2],
      ['peak', 2],
      ['ramp down', 2],
      ['off-peak (end)', 1],
    ]);
  });
});

describe('runRamp', () => {
  it('accounts every request to the window of its scheduled time, with depth and scored items', async () => {
    // Answers "depth" 3 of the 10 items in the first window's requests, 7 later; call 5 fails.
    let calls = 0;
    const t0 = performance.now();
    const target: ScoreTarget = {
      name: 'ramp', kind: 'fake', url: 'memory://ramp',
      send: (_req: BenchRequest): Promise<SendResult> => {
        const n = ++calls;
        const depth = performance.now() - t0 < 400 ? 3 : 7;
        return new Promise((resolve) => setTimeout(() => resolve(n === 5 ? { status: 503 } : { status: 200, scoredItems: depth, depth }), 10));
      },
      close: async () => {},
    };
    const windows = [
      { rps: 100, durationMs: 400, phase: 'a' },
      { rps: 100, durationMs: 400, phase: 'b' },
      { rps: 100, durationMs: 400, phase: 'b' },
    ];
    const r = await runRamp(target, constantSource(10), { windows, timeoutMs: 1000, seed: 9 });
    expect(r.windows.map((w) => w.startS)).toEqual([0, 0.4, 0.8]);
    const sent = r.windows.reduce((a, w) => a + w.scheduled, 0);
    expect(sent).toBe(calls);
    expect(r.windows.reduce((a, w) => a + w.ok + w.errors + w.timeouts, 0)).toBe(sent);
    expect(r.windows.reduce((a, w) => a + w.errors, 0)).toBe(1);
    const [w0, w1] = r.windows;
    expect(w0?.depth?.max).toBeLessThanOrEqual(7);
    expect(w1?.depth).toEqual({ mean: 7, min: 7, max: 7 });
    expect(w1?.itemsPerSecond).toBeCloseTo(((w1?.ok ?? 0) * 7) / 0.4, 6);
    expect(w1?.latency.p50).toBeGreaterThanOrEqual(9);
    // Phases pool their windows.
    expect(r.phases.map((p) => [p.phase, p.startS, p.durationS, p.scheduled])).toEqual([
      ['a', 0, 0.4, w0?.scheduled],
      ['b', 0.4, 0.8, (w1?.scheduled ?? 0) + (r.windows[2]?.scheduled ?? 0)],
    ]);
    expect(r.phases[1]?.latency.count).toBe((w1?.latency.count ?? 0) + (r.windows[2]?.latency.count ?? 0));
  });

  it('records a request that outlives the timeout as a timeout, at the time it gave up', async () => {
    const target: ScoreTarget = {
      name: 'hang', kind: 'fake', url: 'memory://hang',
      send: (_req, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
      close: async () => {},
    };
    const r = await runRamp(target, constantSource(), { windows: [{ rps: 50, durationMs: 200 }], timeoutMs: 150, seed: 1 });
    const w = r.windows[0]!;
    expect(w.timeouts).toBe(w.scheduled);
    expect(w.latency.p50).toBeGreaterThanOrEqual(149);
    expect(w.depth).toBeNull();
    expect(r.phases).toEqual([]);
  });
});
