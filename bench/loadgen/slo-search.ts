import type { ScorecarStepMetrics } from '../report/scrape.js';
import type { BurstConfig } from './arrivals.js';
import { type StepMeasurement, runStep } from './step.js';
import type { RequestSource, ScoreTarget } from './target.js';

export interface SearchConfig {
  /** The SLO: this percentile of latency (from scheduled time) must stay at or under sloMs. */
  sloMs: number;
  percentile: 50 | 90 | 95 | 99;
  /** Errors + timeouts over scheduled requests above this fail a step whatever its latency. */
  maxErrorRate: number;
  startRps: number;
  /** Factor between probe steps before the first failure (and after, going down). */
  growth: number;
  minRps: number;
  maxRps: number;
  /** Stop bisecting once the failing rate is within (1 + tolerance) of the passing one. */
  tolerance: number;
  maxSteps: number;
  warmupMs: number;
  stepMs: number;
  timeoutMs: number;
  /** Minimum pause after a failing step. */
  cooldownMs: number;
  /**
   * After a failing step the target may still be working through requests the bench gave up on
   * (a server does not stop a prefill because its client left). Before the next step, single
   * probe requests are sent until one is answered about as fast as at low load, for at most this
   * long: otherwise the backlog of one step would fail the next.
   */
  settleMaxMs: number;
  burst: BurstConfig | null;
  seed: number;
  /** performance.now() time by which the search must have finished. */
  deadlineMs: number;
}

export type StepPhase = 'probe-up' | 'probe-down' | 'bisect';

export interface SearchStep extends StepMeasurement {
  index: number;
  phase: StepPhase;
  pass: boolean;
  /** Why the step failed; empty when it passed. */
  failReasons: string[];
  /** The step's send schedule fell behind (see dispatchLag): the result may be the generator's. */
  generatorLagging: boolean;
  /** Filled by the caller's metrics scraper, when one is configured. */
  scorecar?: ScorecarStepMetrics | { error: string };
}

export type StopReason = 'converged' | 'max-rps' | 'min-rps' | 'max-steps' | 'budget';

export interface SearchResult {
  /** Highest offered RPS whose step met the SLO; null when none did. */
  bestRps: number | null;
  /** Achieved items/s of that step. */
  bestItemsPerSecond: number | null;
  stopReason: StopReason;
  steps: SearchStep[];
}

export interface SearchHooks {
  /** Runs around each measured window, e.g. to scrape scorecar's /metrics before and after. */
  beforeMeasure?: () => void;
  /** Runs before each step's traffic starts, e.g. to flush the target's caches. */
  beforeStep?: () => Promise<void>;
  afterStep?: (step: SearchStep) => Promise<void> | void;
}

/** Why a step misses the SLO (empty when it meets it). */
export function judgeStep(m: StepMeasurement, cfg: Pick<SearchConfig, 'sloMs' | 'percentile' | 'maxErrorRate'>): string[] {
  const reasons: string[] = [];
  if (m.scheduled === 0) return ['no arrivals in the measured window'];
  const key = `p${cfg.percentile}` as 'p50' | 'p90' | 'p95' | 'p99';
  if (m.latency[key] > cfg.sloMs) reasons.push(`${key} ${m.latency[key].toFixed(1)} ms > ${cfg.sloMs} ms`);
  const failRate = (m.errors + m.timeouts) / m.scheduled;
  if (failRate > cfg.maxErrorRate) {
    reasons.push(`errors+timeouts ${(failRate * 100).toFixed(2)}% > ${(cfg.maxErrorRate * 100).toFixed(2)}%`);
  }
  return reasons;
}

/** Worst-case wall time of one step: warm-up, window, drain up to the timeout. */
export function stepBudgetMs(cfg: SearchConfig): number {
  return cfg.warmupMs + cfg.stepMs + cfg.timeoutMs;
}

/**
 * Finds the highest offered RPS at which the SLO holds: geometric probes up from startRps until a
 * step fails (or down until one passes), then bisection on a log scale between the highest pass
 * and the lowest failure. Every step is open-loop (see runStep). Stops early, keeping what it has,
 * when the next step might overrun the deadline.
 */
export async function searchMaxRps(
  target: ScoreTarget,
  source: RequestSource,
  cfg: SearchConfig,
  hooks: SearchHooks = {},
  /** Item ids the target was already sent (e.g. by a prewarm), for firstSeenItems. */
  seen: Set<number> = new Set(),
): Promise<SearchResult> {
  validateSearch(cfg);
  const steps: SearchStep[] = [];
  let lo: SearchStep | null = null;
  let hiRps: number | null = null;
  let rps = Math.min(Math.max(cfg.startRps, cfg.minRps), cfg.maxRps);
  let phase: StepPhase = 'probe-up';
  let stopReason: StopReason = 'max-steps';
  /** Lowest p50 of a passing step: how fast the target answers when it is not backlogged. */
  let baselineMs: number | null = null;
  const lagLimitMs = Math.max(5, cfg.sloMs * 0.05);

  while (steps.length < cfg.maxSteps) {
    if (performance.now() + stepBudgetMs(cfg) > cfg.deadlineMs) {
      stopReason = 'budget';
      break;
    }
    await hooks.beforeStep?.();
    const m = await runStep(
      target,
      source,
      { rps, burst: cfg.burst, warmupMs: cfg.warmupMs, durationMs: cfg.stepMs, timeoutMs: cfg.timeoutMs, seed: cfg.seed },
      seen,
      hooks.beforeMeasure ? { onMeasureStart: hooks.beforeMeasure } : {},
    );
    const failReasons = judgeStep(m, cfg);
    const step: SearchStep = {
      ...m,
      index: steps.length,
      phase,
      pass: failReasons.length === 0,
      failReasons,
      generatorLagging: m.dispatchLag.p99 > lagLimitMs,
    };
    steps.push(step);
    await hooks.afterStep?.(step);

    if (step.pass) {
      if (lo === null || rps > lo.offeredRps) lo = step;
      if (step.latency.p50 > 0) baselineMs = Math.min(baselineMs ?? Infinity, step.latency.p50);
    } else {
      hiRps = hiRps === null ? rps : Math.min(hiRps, rps);
      await settle(target, source, cfg, baselineMs);
    }

    if (hiRps === null) {
      if (rps >= cfg.maxRps) {
        stopReason = 'max-rps';
        break;
      }
      phase = 'probe-up';
      rps = Math.min(rps * cfg.growth, cfg.maxRps);
    } else if (lo === null) {
      if (rps <= cfg.minRps) {
        stopReason = 'min-rps';
        break;
      }
      phase = 'probe-down';
      rps = Math.max(rps / cfg.growth, cfg.minRps);
    } else {
      if (hiRps / lo.offeredRps <= 1 + cfg.tolerance) {
        stopReason = 'converged';
        break;
      }
      phase = 'bisect';
      rps = Math.sqrt(lo.offeredRps * hiRps);
    }
  }
  return {
    bestRps: lo?.offeredRps ?? null,
    bestItemsPerSecond: lo?.itemsPerSecond ?? null,
    stopReason,
    steps,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the target answers a fresh request (fresh, so that a score cache cannot answer it)
 * within twice the baseline p50, or a quarter of the SLO before any step has passed; bounded by
 * settleMaxMs and the deadline.
 */
async function settle(target: ScoreTarget, source: RequestSource, cfg: SearchConfig, baselineMs: number | null): Promise<void> {
  if (cfg.cooldownMs > 0) await sleep(cfg.cooldownMs);
  const threshold = baselineMs === null ? cfg.sloMs / 4 : Math.max(2 * baselineMs, baselineMs + 5);
  const until = Math.min(cfg.deadlineMs, performance.now() + cfg.settleMaxMs);
  while (performance.now() < until) {
    const t = performance.now();
    try {
      const r = await target.send(source.next(t), AbortSignal.timeout(Math.ceil(Math.max(1, until - t))));
      if (r.status === 200 && performance.now() - t <= threshold) return;
    } catch {
      // Timed out or failed: the target is still busy, or down; either way, keep waiting.
    }
    await sleep(Math.min(100, Math.max(0, until - performance.now())));
  }
}

function validateSearch(cfg: SearchConfig): void {
  const positive: Array<keyof SearchConfig> = ['sloMs', 'startRps', 'minRps', 'maxRps', 'stepMs', 'timeoutMs'];
  for (const k of positive) {
    if (!((cfg[k] as number) > 0)) throw new Error(`search: ${k} must be > 0`);
  }
  if (!(cfg.growth > 1)) throw new Error('search: growth must be > 1');
  if (!(cfg.tolerance > 0)) throw new Error('search: tolerance must be > 0');
  if (cfg.minRps > cfg.maxRps) throw new Error('search: minRps > maxRps');
  if (cfg.timeoutMs <= cfg.sloMs) throw new Error('search: the timeout must exceed the SLO, or timeouts would hide latency');
}
