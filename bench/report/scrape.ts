import { request } from 'undici';
import { type PromSample, parsePrometheusText, sumMetric } from './prometheus.js';

/**
 * Scorecar's own cost while under load, from two scrapes of its Prometheus /metrics around a
 * measured window. Each figure has a list of candidate metric names, tried in order (the first
 * present wins and is named in the result), overridable with --metric-name key=NAME:
 *
 *   cpuSecondsTotal     scorecar_process_cpu_seconds_total (prom-client defaults, scorecar_ prefix),
 *                       process_cpu_seconds_total (unprefixed prom-client)
 *   gcPauseSecondsSum   scorecar_gc_pause_seconds_sum (scorecar's GC-profiler histogram),
 *                       scorecar_nodejs_gc_duration_seconds_sum, nodejs_gc_duration_seconds_sum
 *   eventLoopActiveSecondsTotal  scorecar_event_loop_active_seconds_total: a counter of
 *                       performance.eventLoopUtilization().active / 1000; ELU = delta / wall time
 *   eventLoopUtilization scorecar_event_loop_utilization: a gauge of ELU since the previous
 *                       scrape, used when the counter is absent (another scraper polling the same
 *                       /metrics during a step shortens the window it covers)
 *   heapAllocatedBytesTotal  scorecar_heap_allocated_bytes_total: main-thread V8 bytes allocated
 *   itemsTotal          scorecar_items_total: items scored (all routes); without it the bench's
 *                       own count of items answered is the denominator
 */
export interface MetricNames {
  cpuSecondsTotal: string[];
  gcPauseSecondsSum: string[];
  eventLoopActiveSecondsTotal: string[];
  eventLoopUtilization: string[];
  heapAllocatedBytesTotal: string[];
  itemsTotal: string[];
  /** Series carrying this label belong to a backend, not to scorecar, and are skipped. */
  backendLabel: string;
}

export type MetricKey = Exclude<keyof MetricNames, 'backendLabel'>;

export const DEFAULT_METRIC_NAMES: Readonly<MetricNames> = {
  cpuSecondsTotal: ['scorecar_process_cpu_seconds_total', 'process_cpu_seconds_total'],
  gcPauseSecondsSum: ['scorecar_gc_pause_seconds_sum', 'scorecar_nodejs_gc_duration_seconds_sum', 'nodejs_gc_duration_seconds_sum'],
  eventLoopActiveSecondsTotal: ['scorecar_event_loop_active_seconds_total'],
  eventLoopUtilization: ['scorecar_event_loop_utilization'],
  heapAllocatedBytesTotal: ['scorecar_heap_allocated_bytes_total'],
  itemsTotal: ['scorecar_items_total'],
  backendLabel: 'backend',
};

export interface Scrape {
  /** performance.now() when the answer arrived. */
  atMs: number;
  samples: PromSample[];
}

/** scorecar's cost over one measured window; null fields were not exported. */
export interface ScorecarStepMetrics {
  intervalSeconds: number;
  items: number;
  /** "scorecar": its items counter; "client": the bench's own count of items answered. */
  itemsSource: 'scorecar' | 'client';
  gcPauseSeconds: number | null;
  gcPauseMsPer10kItems: number | null;
  eventLoopUtilization: number | null;
  processCpuSeconds: number | null;
  cpuMicrosPerItem: number | null;
  heapBytesPerItem: number | null;
  /** The metric name each figure came from. */
  sources: Partial<Record<MetricKey, string>>;
  /** Figures none of whose candidate names the scrapes contained. */
  missing: MetricKey[];
}

export async function scrapeMetrics(url: string, timeoutMs = 5000): Promise<Scrape> {
  const res = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
  return { atMs: performance.now(), samples: parsePrometheusText(text) };
}

/** Differences two scrapes into per-window figures; clientItems is the fallback denominator. */
export function diffScrapes(before: Scrape, after: Scrape, names: MetricNames, clientItems: number): ScorecarStepMetrics {
  const missing: MetricKey[] = [];
  const sources: Partial<Record<MetricKey, string>> = {};
  const own = (samples: Scrape['samples'], name: string): number | null => sumMetric(samples, name, names.backendLabel);
  /**
   * Increase of the first candidate counter present after the window. A labelled counter or
   * histogram has no series until its first observation, so absent before means 0 then.
   */
  const delta = (key: MetricKey): number | null => {
    for (const name of names[key]) {
      const b = own(after.samples, name);
      if (b === null) continue;
      const a = own(before.samples, name) ?? 0;
      sources[key] = name;
      return Math.max(0, b - a); // a restarted process resets counters; never report negative cost
    }
    return null;
  };
  const intervalSeconds = Math.max(1e-9, (after.atMs - before.atMs) / 1000);
  const scorecarItems = delta('itemsTotal');
  const items = scorecarItems ?? clientItems;
  const perItem = (v: number | null, scale: number): number | null => (v === null || items <= 0 ? null : (v * scale) / items);
  const gc = delta('gcPauseSecondsSum');
  const cpu = delta('cpuSecondsTotal');
  const heap = delta('heapAllocatedBytesTotal');

  let elu: number | null = null;
  const active = delta('eventLoopActiveSecondsTotal');
  if (active !== null) elu = Math.min(1, active / intervalSeconds);
  else {
    for (const name of names.eventLoopUtilization) {
      elu = own(after.samples, name);
      if (elu !== null) {
        sources.eventLoopUtilization = name;
        break;
      }
    }
  }
  if (scorecarItems === null) missing.push('itemsTotal');
  if (gc === null) missing.push('gcPauseSecondsSum');
  if (cpu === null) missing.push('cpuSecondsTotal');
  if (heap === null) missing.push('heapAllocatedBytesTotal');
  if (elu === null) missing.push('eventLoopUtilization');
  return {
    intervalSeconds,
    items,
    itemsSource: scorecarItems === null ? 'client' : 'scorecar',
    gcPauseSeconds: gc,
    gcPauseMsPer10kItems: perItem(gc, 1000 * 10_000),
    eventLoopUtilization: elu,
    processCpuSeconds: cpu,
    cpuMicrosPerItem: perItem(cpu, 1e6),
    heapBytesPerItem: perItem(heap, 1),
    sources,
    missing,
  };
}

/**
 * Scrapes once when a window opens and once after it drains. A failed scrape never fails the
 * benchmark: the step's metrics then say why they are absent.
 */
export class StepScraper {
  private before: Promise<Scrape> | null = null;

  constructor(
    private readonly url: string,
    private readonly names: MetricNames,
  ) {}

  begin(): void {
    this.before = scrapeMetrics(this.url);
    this.before.catch(() => undefined); // observed in end(); avoid an unhandled rejection meanwhile
  }

  async end(clientItems: number): Promise<ScorecarStepMetrics | { error: string }> {
    const pending = this.before;
    this.before = null;
    if (pending === null) return { error: 'no scrape was taken when the window opened' };
    try {
      const [a, b] = [await pending, await scrapeMetrics(this.url)];
      return diffScrapes(a, b, this.names, clientItems);
    } catch (e) {
      return { error: `metrics scrape failed: ${(e as Error).message}` };
    }
  }
}
