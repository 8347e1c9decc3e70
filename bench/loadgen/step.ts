import { Rng } from '../rng.js';
import { type BurstConfig, scheduleArrivals } from './arrivals.js';
import { type LatencySummary, LatencyHistogram } from './histogram.js';
import { sendOnSchedule } from './scheduled-send.js';
import type { RequestPriority, RequestSource, ScoreTarget } from './target.js';

export interface StepConfig {
  /** Mean offered requests per second. */
  rps: number;
  burst: BurstConfig | null;
  /** Arrivals in this leading window are sent but not recorded (queues reach steady state). */
  warmupMs: number;
  /** The measured window. */
  durationMs: number;
  /** Per request, counted from its scheduled send time. */
  timeoutMs: number;
  seed: number;
}

export interface StepHooks {
  /** Called when the measured window opens (e.g. a first metrics scrape). */
  onMeasureStart?: () => void;
}

/** What one step measured. All latencies in milliseconds. */
export interface StepMeasurement {
  offeredRps: number;
  durationSeconds: number;
  /** Arrivals scheduled in the measured window. */
  scheduled: number;
  ok: number;
  /** Non-200 answers, transport failures and malformed bodies; timeouts are not errors. */
  errors: number;
  errorsByStatus: Record<string, number>;
  timeouts: number;
  achievedRps: number;
  itemsPerSecond: number;
  /** From the scheduled send time to the answer: successes and timeouts (at the time they gave up). */
  latency: LatencySummary;
  /** From the actual send to the answer, successes only: what a closed-loop tool would report. */
  service: LatencySummary;
  /** How late the generator sent (actual - scheduled): large values mean the generator, not the target, is saturated. */
  dispatchLag: LatencySummary;
  /** Items sent in the window that this target had not been sent before in this run. */
  firstSeenItems: number;
  /** Sum of x-scorecar-cache-hits over the window's successes; null when the target never said. */
  cacheHits: number | null;
  /**
   * Per priority class, present when the step's requests carry one (a PriorityMixSource; see
   * loadgen/priority-mix.ts). `latency` above is then the online class's, the one the SLO
   * applies to, while scheduled, ok, errors, timeouts and items/s count both classes.
   */
  byClass?: Record<RequestPriority, ClassMeasurement>;
  /** Mean `depth` of the window's successful /rank answers; absent when no answer said. */
  meanDepth?: number;
  /**
   * Items answered and score-cache hits of first pages (page 1) and of page navigations
   * (page >= 2), successes only; absent when the target never reported hits.
   */
  pages?: { first: PageCacheTally; revisit: PageCacheTally };
}

export interface PageCacheTally {
  items: number;
  hits: number;
}

/** What one step measured for one priority class (requests without a class count as online). */
export interface ClassMeasurement {
  scheduled: number;
  ok: number;
  errors: number;
  errorsByStatus: Record<string, number>;
  timeouts: number;
  achievedRps: number;
  itemsPerSecond: number;
  /** From the scheduled send time: successes and timeouts, as for the whole step. */
  latency: LatencySummary;
}

/** One class's counts while a step runs. */
export class ClassTally {
  scheduled = 0;
  ok = 0;
  errors = 0;
  timeouts = 0;
  items = 0;
  readonly errorsByStatus: Record<string, number> = {};
  private readonly latency = new LatencyHistogram();

  success(latencyMs: number, items: number): void {
    this.ok++;
    this.items += items;
    this.latency.recordMs(latencyMs);
  }

  /** A timeout is recorded at the moment the client gave up, as for the whole step. */
  timeout(latencyMs: number): void {
    this.timeouts++;
    this.latency.recordMs(latencyMs);
  }

  error(status: number): void {
    this.errors++;
    const key = String(status);
    this.errorsByStatus[key] = (this.errorsByStatus[key] ?? 0) + 1;
  }

  /** The class's figures over a window of durationSeconds; frees the histogram. */
  finish(durationSeconds: number): ClassMeasurement {
    const m: ClassMeasurement = {
      scheduled: this.scheduled,
      ok: this.ok,
      errors: this.errors,
      errorsByStatus: this.errorsByStatus,
      timeouts: this.timeouts,
      achievedRps: this.ok / durationSeconds,
      itemsPerSecond: this.items / durationSeconds,
      latency: this.latency.summary(),
    };
    this.latency.destroy();
    return m;
  }
}

/** Lead time between drawing the schedule and the first arrival. */
const START_LEAD_MS = 5;

/**
 * Runs one open-loop step. The schedule is drawn in advance; each arrival is sent at its time
 * whatever the state of earlier requests, and its latency counts from the scheduled time, so
 * queueing anywhere (in the target, in the connection pool, in a blocked event loop) shows up
 * in the numbers instead of silently lowering the offered load. Resolves once every measured
 * request has finished or timed out.
 *
 * `seen` carries the item ids this target has been sent before (for firstSeenItems).
 */
export function runStep(
  target: ScoreTarget,
  source: RequestSource,
  cfg: StepConfig,
  seen: Set<number>,
  hooks: StepHooks = {},
): Promise<StepMeasurement> {
  // The same rate always gets the same schedule, so targets are compared on identical arrivals.
  const rng = Rng.derive(cfg.seed, 'arrivals', Math.round(cfg.rps * 1000), cfg.burst ? 'burst' : 'poisson');
  const offsets = scheduleArrivals({ rps: cfg.rps, burst: cfg.burst }, cfg.warmupMs + cfg.durationMs, rng);
  const n = offsets.length;
  const latency = new LatencyHistogram();
  const service = new LatencyHistogram();
  const lag = new LatencyHistogram();
  const errorsByStatus: Record<string, number> = {};
  let scheduled = 0;
  let ok = 0;
  let errors = 0;
  let timeouts = 0;
  let itemsOk = 0;
  let firstSeen = 0;
  let cacheHits: number | null = null;
  let depthSum = 0;
  let depthCount = 0;
  const classes: Record<RequestPriority, ClassTally> = { online: new ClassTally(), nearline: new ClassTally() };
  let classed = false;
  const pages = { first: { items: 0, hits: 0 }, revisit: { items: 0, hits: 0 } };
  let inflight = 0;
  let next = 0;
  let measureOpened = false;

  return new Promise<StepMeasurement>((resolve) => {
    const t0 = performance.now() + START_LEAD_MS;

    const finishIfDone = (): void => {
      if (next < n || inflight > 0) return;
      const durationSeconds = cfg.durationMs / 1000;
      const online = classes.online.finish(durationSeconds);
      const nearline = classes.nearline.finish(durationSeconds);
      const m: StepMeasurement = {
        offeredRps: cfg.rps,
        durationSeconds,
        scheduled,
        ok,
        errors,
        errorsByStatus,
        timeouts,
        achievedRps: ok / durationSeconds,
        itemsPerSecond: itemsOk / durationSeconds,
        // With priority classes the SLO applies to the online class.
        latency: classed ? online.latency : latency.summary(),
        service: service.summary(),
        dispatchLag: lag.summary(),
        firstSeenItems: firstSeen,
        cacheHits,
      };
      if (classed) m.byClass = { online, nearline };
      if (depthCount > 0) m.meanDepth = depthSum / depthCount;
      if (cacheHits !== null) m.pages = pages;
      latency.destroy();
      service.destroy();
      lag.destroy();
      resolve(m);
    };

    const fire = (offset: number): void => {
      const scheduledAt = t0 + offset;
      const measured = offset >= cfg.warmupMs;
      const req = source.next(scheduledAt);
      const sentAt = performance.now();
      if (req.priority !== undefined) classed = true;
      const cls = classes[req.priority ?? 'online'];
      if (measured) {
        scheduled++;
        cls.scheduled++;
        lag.recordMs(sentAt - scheduledAt);
        for (const it of req.items) {
          if (!seen.has(it.id)) firstSeen++;
        }
      }
      for (const it of req.items) seen.add(it.id);
      inflight++;
      sendOnSchedule(target, req, scheduledAt, sentAt, cfg.timeoutMs, (outcome, end) => {
        inflight--;
        if (measured) {
          if (outcome.kind === 'timeout') {
            timeouts++;
            latency.recordMs(end - scheduledAt);
            cls.timeout(end - scheduledAt);
          } else if (outcome.kind === 'ok') {
            const r = outcome.result;
            ok++;
            const items = r.scoredItems ?? req.items.length;
            itemsOk += items;
            latency.recordMs(end - scheduledAt);
            service.recordMs(end - sentAt);
            cls.success(end - scheduledAt, items);
            if (r.cacheHits !== undefined) {
              cacheHits = (cacheHits ?? 0) + r.cacheHits;
              const page = req.page > 1 ? pages.revisit : pages.first;
              page.items += items;
              page.hits += r.cacheHits;
            }
            if (r.depth !== undefined) {
              depthSum += r.depth;
              depthCount++;
            }
          } else {
            errors++;
            const key = String(outcome.status);
            errorsByStatus[key] = (errorsByStatus[key] ?? 0) + 1;
            cls.error(outcome.status);
          }
        }
        finishIfDone();
      });
    };

    const tick = (): void => {
      const now = performance.now();
      while (next < n && t0 + (offsets[next] as number) <= now) {
        const offset = offsets[next++] as number;
        if (!measureOpened && offset >= cfg.warmupMs) {
          measureOpened = true;
          hooks.onMeasureStart?.();
        }
        fire(offset);
      }
      if (next < n) {
        const wait = t0 + (offsets[next] as number) - performance.now();
        // setTimeout has millisecond granularity; the last sub-millisecond is spun on setImmediate.
        if (wait >= 1) setTimeout(tick, Math.floor(wait));
        else setImmediate(tick);
      } else {
        if (!measureOpened) {
          measureOpened = true;
          hooks.onMeasureStart?.();
        }
        finishIfDone();
      }
    };
    setTimeout(tick, START_LEAD_MS);
  });
}
