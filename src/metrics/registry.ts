import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScoreCacheStats } from '../cache/score-cache.js';
import type { ShaperStats } from '../control/traffic-shaper.js';
import { type BackendSample, registerBackendMetrics } from './backend-metrics.js';
import { FastCounter, FastHistogram, FastStatusCounter } from './fast-metrics.js';
import { HeapMeter } from './heap-meter.js';

/** Routes that score; metrics are pre-sized for them. */
export const SCORING_ROUTES = ['/v1/score', '/rank', '/v1/rerank', '/v2/rerank', 'grpc.Score', 'grpc.Rank', 'grpc.ScoreStream'] as const;
export type ScoringRoute = (typeof SCORING_ROUTES)[number];
export const STAGES = ['tokenize', 'queue', 'backend', 'total'] as const;
export type Stage = (typeof STAGES)[number];

const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const GC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** Sources the registry reads at scrape time (caches, pools, backends, control loops). */
export interface MetricSources {
  tokenCaches(): Array<{ name: string; hits: number; misses: number; bytes: number; entries: number }>;
  tokenizerQueue(): number;
  backends(): BackendSample[];
  retryBudget(): { allowed: number; refused: number };
  scoreCache(): ScoreCacheStats;
  shaper(): ShaperStats;
  depth(): { depth: number; measuredMs: number; error: number; p: number; i: number; d: number };
  coalesced(): number;
}

/**
 * scorecar's Prometheus metrics: per-stage latency histograms (tokenize, queue, backend, total),
 * items and requests, token-cache hit counts, pack fill, and the runtime's own health (GC pauses,
 * event-loop delay and utilisation, heap bytes allocated). Default process metrics carry a
 * scorecar_ prefix so they never collide with a backend's series in the merged /metrics.
 */
export class ScorecarMetrics {
  readonly registry = new Registry();
  readonly requests: FastStatusCounter<ScoringRoute>;
  readonly items: FastCounter<ScoringRoute>;
  readonly stage: FastHistogram<Stage>;
  readonly packs: FastCounter<'mis' | 'single'>;
  readonly packItems: FastHistogram<never>;
  readonly packTokens: FastHistogram<never>;
  readonly gcPause: Histogram<'type'>;
  readonly heap = new HeapMeter();
  private readonly loopDelay: IntervalHistogram;
  private elu = performance.eventLoopUtilization();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'scorecar_' });
    this.requests = new FastStatusCounter('scorecar_requests_total', 'Scoring requests answered, by route and status', SCORING_ROUTES);
    this.items = new FastCounter('scorecar_items_total', 'Items scored', 'route', SCORING_ROUTES);
    this.stage = new FastHistogram('scorecar_stage_seconds', 'Time per pipeline stage: tokenize, queue, backend, total', 'stage', STAGES, STAGE_BUCKETS);
    this.packs = new FastCounter('scorecar_backend_calls_total', 'Scoring calls sent to backends, by protocol', 'mode', ['mis', 'single'] as const);
    this.packItems = new FastHistogram('scorecar_pack_items', 'Items per backend call', null, [], [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    this.packTokens = new FastHistogram('scorecar_pack_tokens', 'Prompt tokens per backend call', null, [], [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
    for (const m of [this.requests, this.items, this.stage, this.packs, this.packItems, this.packTokens]) {
      this.registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    }
    const heapMeter = this.heap;
    this.gcPause = new Histogram({
      name: 'scorecar_gc_pause_seconds',
      help: 'Main-thread GC pauses',
      labelNames: ['type'],
      buckets: GC_BUCKETS,
      registers,
      // Fold in the collections since the last scrape before this histogram is written, so a
      // scrape reports the GCs up to itself (the allocation counter below reads the same meter).
      collect() {
        for (const g of heapMeter.read()) this.observe({ type: g.type }, g.seconds);
      },
    });
    new Counter({
      name: 'scorecar_heap_allocated_bytes_total',
      help: 'Main-thread heap bytes allocated (from V8 per-GC heap sizes)',
      registers,
      collect() {
        this.reset();
        this.inc(heapMeter.allocatedBytes);
      },
    });
    const cacheLabels = ['cache'] as const;
    new Counter({
      name: 'scorecar_token_cache_hits_total',
      help: 'Token cache hits',
      labelNames: cacheLabels,
      registers,
      collect() {
        this.reset();
        for (const c of sources.tokenCaches()) this.inc({ cache: c.name }, c.hits);
      },
    });
    new Counter({
      name: 'scorecar_token_cache_misses_total',
      help: 'Token cache misses',
      labelNames: cacheLabels,
      registers,
      collect() {
        this.reset();
        for (const c of sources.tokenCaches()) this.inc({ cache: c.name }, c.misses);
      },
    });
    new Gauge({
      name: 'scorecar_token_cache_bytes',
      help: 'Bytes held by each token cache',
      labelNames: cacheLabels,
      registers,
      collect() {
        for (const c of sources.tokenCaches()) this.set({ cache: c.name }, c.bytes);
      },
    });
    new Gauge({
      name: 'scorecar_tokenizer_queue',
      help: 'Tokenize tasks waiting for a worker',
      registers,
      collect() {
        this.set(sources.tokenizerQueue());
      },
    });
    registerBackendMetrics(this.registry, sources.backends, sources.retryBudget);
    // Score cache: counters are the cache's own running totals, read at scrape time.
    const cacheCounter = (name: string, help: string, read: (s: ScoreCacheStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(sources.scoreCache()));
        },
      });
    };
    cacheCounter('scorecar_score_cache_hits_total', 'Score-cache hits (items)', (c) => c.hits);
    cacheCounter('scorecar_score_cache_misses_total', 'Score-cache misses (items)', (c) => c.misses);
    cacheCounter('scorecar_score_cache_rejected_total', 'Score-cache values read from Redis whose MAC did not verify (dropped, served as misses)', (c) => c.rejected);
    cacheCounter('scorecar_score_cache_errors_total', 'Score-cache calls that failed (a cache outage costs hits only)', (c) => c.errors);
    cacheCounter('scorecar_score_cache_lookups_total', 'Score-cache lookups (one per request)', (c) => c.lookups);
    cacheCounter('scorecar_score_cache_lookup_seconds_total', 'Time spent in score-cache lookups', (c) => c.lookupSecondsSum);
    new Gauge({
      name: 'scorecar_score_cache_hit_ratio',
      help: 'Score-cache hits / items looked up, since start',
      registers,
      collect() {
        const c = sources.scoreCache();
        this.set(c.keysLooked > 0 ? c.hits / c.keysLooked : 0);
      },
    });
    new Gauge({
      name: 'scorecar_score_cache_lookup_seconds_max',
      help: 'Slowest score-cache lookup since start',
      registers,
      collect() {
        this.set(sources.scoreCache().lookupSecondsMax);
      },
    });
    // Traffic shaper.
    const shaperGauge = (name: string, help: string, read: (s: ShaperStats) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = read(sources.shaper());
          this.set(Number.isFinite(v) ? v : 0);
        },
      });
    };
    shaperGauge('scorecar_shaper_budget_tokens', 'In-flight token budget of the traffic shaper', (s) => s.budgetTokens);
    shaperGauge('scorecar_shaper_inflight_tokens', 'Tokens admitted and not yet released', (s) => s.inFlightTokens);
    shaperGauge('scorecar_shaper_queued_online', 'Online requests waiting for admission', (s) => s.queuedRequests.online);
    shaperGauge('scorecar_shaper_queued_nearline', 'Nearline requests waiting for admission', (s) => s.queuedRequests.nearline);
    new Counter({
      name: 'scorecar_shaper_refused_total',
      help: 'Requests refused before dispatch (429), by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const r = sources.shaper().refused;
        for (const [reason, n] of Object.entries(r)) this.inc({ reason }, n);
      },
    });
    // Ranking-depth controller.
    const depthGauge = (name: string, help: string, read: (d: ReturnType<MetricSources['depth']>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          // No samples yet reads as NaN, which prom-client would print as "Nan": report 0.
          const v = read(sources.depth());
          this.set(Number.isFinite(v) ? v : 0);
        },
      });
    };
    depthGauge('scorecar_rank_depth', 'Ranking depth D the controller currently sets', (d) => d.depth);
    depthGauge('scorecar_rank_depth_signal_ms', 'Measured control signal (p95 latency or queue delay), ms', (d) => d.measuredMs);
    depthGauge('scorecar_rank_depth_error', 'Depth controller error (signal vs target, normalised)', (d) => d.error);
    depthGauge('scorecar_rank_depth_p_term', 'Depth controller proportional term', (d) => d.p);
    depthGauge('scorecar_rank_depth_i_term', 'Depth controller integral term', (d) => d.i);
    depthGauge('scorecar_rank_depth_d_term', 'Depth controller derivative term', (d) => d.d);
    new Counter({
      name: 'scorecar_coalesced_requests_total',
      help: 'Requests that shared a backend call with others (cross-request coalescing)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.coalesced());
      },
    });
    new Counter({
      name: 'scorecar_event_loop_active_seconds_total',
      help: 'Time the event loop was busy (ELU numerator)',
      registers,
      collect() {
        this.reset();
        this.inc(performance.eventLoopUtilization().active / 1000);
      },
    });
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    const loop = this.loopDelay;
    new Gauge({
      name: 'scorecar_event_loop_delay_seconds',
      help: 'Event-loop delay quantiles since the last scrape',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.set({ quantile: '0.5' }, loop.percentile(50) / 1e9);
        this.set({ quantile: '0.99' }, loop.percentile(99) / 1e9);
        this.set({ quantile: '1' }, loop.max / 1e9);
        loop.reset();
      },
    });
    const self = this;
    new Gauge({
      name: 'scorecar_event_loop_utilization',
      help: 'Event-loop utilisation since the last scrape (0..1)',
      registers,
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, self.elu).utilization);
        self.elu = now;
      },
    });
    this.heap.start();
  }

  /** Main-thread allocation and GC totals so far (for /scorecar/stats and the GC-free test). */
  heapStats(): { allocated_bytes: number; gc_count: number; gc_major_count: number; gc_seconds: number; gc_major_seconds: number } {
    for (const g of this.heap.read()) this.gcPause.observe({ type: g.type }, g.seconds);
    return { allocated_bytes: this.heap.allocatedBytes, gc_count: this.heap.gcCount, gc_major_count: this.heap.majorCount, gc_seconds: this.heap.gcSeconds, gc_major_seconds: this.heap.majorSeconds };
  }

  stop(): void {
    this.loopDelay.disable();
    this.heap.stop();
  }
}
