import { describe, expect, it } from 'vitest';
import { type SearchConfig, judgeStep, searchMaxRps, stepBudgetMs } from '../../bench/loadgen/slo-search.js';
import type { StepMeasurement } from '../../bench/loadgen/step.js';
import { QueueTarget, ScriptedTarget, constantSource } from './fakes.js';

const base = (over: Partial<SearchConfig>): SearchConfig => ({
  sloMs: 100,
  percentile: 95,
  maxErrorRate: 0.01,
  startRps: 25,
  growth: 2,
  minRps: 1,
  maxRps: 10_000,
  tolerance: 0.06,
  maxSteps: 14,
  warmupMs: 300,
  stepMs: 1200,
  timeoutMs: 400,
  cooldownMs: 100,
  settleMaxMs: 3000,
  burst: null,
  seed: 1,
  deadlineMs: performance.now() + 60_000,
  ...over,
});

describe('SLO search', () => {
  it('converges near the capacity of a single-server queue', async () => {
    // 5 ms per request: 200 requests/s at most. An M/D/1 queue keeps p95 <= 100 ms (20 service
    // times) up to ~93% load in steady state, and a 1.2 s window lets a slightly overloaded queue
    // pass before its backlog shows, so the answer lies a little below or at 200.
    const target = new QueueTarget(5);
    const r = await searchMaxRps(target, constantSource(), base({ deadlineMs: performance.now() + 45_000 }));
    expect(r.stopReason).toBe('converged');
    expect(r.bestRps).not.toBeNull();
    expect(r.bestRps as number).toBeGreaterThan(200 * 0.72);
    expect(r.bestRps as number).toBeLessThan(200 * 1.12);
    // Probes go up geometrically until a failure, then bisect between pass and fail.
    expect(r.steps.slice(0, 3).map((s) => s.offeredRps)).toEqual([25, 50, 100]);
    expect(r.steps.some((s) => s.phase === 'bisect')).toBe(true);
    const passes = r.steps.filter((s) => s.pass).map((s) => s.offeredRps);
    expect(Math.max(...passes)).toBe(r.bestRps);
    const lowestFail = Math.min(...r.steps.filter((s) => !s.pass).map((s) => s.offeredRps));
    expect(lowestFail / (r.bestRps as number)).toBeLessThanOrEqual(1.06 + 1e-9);
    // The best step's items/s is what it achieved: ~10 items per request at ~bestRps.
    expect(r.bestItemsPerSecond as number).toBeGreaterThan((r.bestRps as number) * 10 * 0.7);
  }, 60_000);

  it('probes down when the first rate already fails, and fails steps on errors', async () => {
    // Every other request errors: fails the default 1% error budget at any rate.
    const target = new ScriptedTarget(1, (call) => (call % 2 === 0 ? 500 : 200));
    const r = await searchMaxRps(
      target,
      constantSource(),
      base({ startRps: 40, minRps: 10, maxSteps: 6, stepMs: 600, warmupMs: 100, deadlineMs: performance.now() + 20_000 }),
    );
    expect(r.bestRps).toBeNull();
    expect(r.stopReason).toBe('min-rps');
    expect(r.steps.map((s) => s.phase)).toEqual(['probe-up', 'probe-down', 'probe-down']);
    expect(r.steps.map((s) => s.offeredRps)).toEqual([40, 20, 10]);
    expect(r.steps[0]?.failReasons.join(' ')).toMatch(/errors\+timeouts/);
  }, 30_000);

  it('stops at the budget instead of overrunning it', async () => {
    const cfg = base({ stepMs: 500, warmupMs: 100, timeoutMs: 400, cooldownMs: 0, settleMaxMs: 0 });
    const budget = stepBudgetMs(cfg) * 2.5;
    const started = performance.now();
    const r = await searchMaxRps(new QueueTarget(1), constantSource(), { ...cfg, deadlineMs: started + budget });
    expect(r.stopReason).toBe('budget');
    // At least two worst-case steps fit; more only when steps end early (no drain needed).
    expect(r.steps.length).toBeGreaterThanOrEqual(2);
    expect(performance.now() - started).toBeLessThan(budget);
  }, 20_000);

  it('judges a step by the percentile and by errors plus timeouts', () => {
    const lat = { count: 100, p50: 10, p90: 50, p95: 90, p99: 300, p999: 400, max: 500, mean: 30 };
    const m = { scheduled: 100, errors: 0, timeouts: 0, latency: lat } as unknown as StepMeasurement;
    const slo = { sloMs: 100, percentile: 95 as const, maxErrorRate: 0.01 };
    expect(judgeStep(m, slo)).toEqual([]);
    expect(judgeStep(m, { ...slo, percentile: 99 })[0]).toMatch(/p99 300.0 ms > 100 ms/);
    expect(judgeStep({ ...m, timeouts: 2 }, slo)[0]).toMatch(/2.00% > 1.00%/);
    expect(judgeStep({ ...m, scheduled: 0 }, slo)).toEqual(['no arrivals in the measured window']);
  });
});
