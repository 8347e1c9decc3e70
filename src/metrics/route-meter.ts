import type { ScorecarMetrics, ScoringRoute } from './registry.js';

/**
 * The per-route bookkeeping every scoring API does (HTTP /v1/score and /rank, the three gRPC
 * methods): answered requests by status, items scored and end-to-end time, with the metric
 * slots resolved once so recording allocates nothing.
 */
export class RouteMeter {
  private readonly route: number;
  private readonly itemsSlot: number;
  private readonly totalSlot: number;

  constructor(
    private readonly metrics: ScorecarMetrics,
    route: ScoringRoute,
  ) {
    this.route = metrics.requests.routeIndex(route);
    this.itemsSlot = metrics.items.slot(route);
    this.totalSlot = metrics.stage.slot('total');
  }

  items(n: number): void {
    this.metrics.items.inc(this.itemsSlot, n);
  }

  /** One answered request: its status code and the time since it arrived. */
  done(code: number, startedMs: number): void {
    this.metrics.requests.inc(this.route, code);
    this.metrics.stage.observe(this.totalSlot, (performance.now() - startedMs) / 1000);
  }
}
