import { request } from 'undici';
import { type PromSample, parsePrometheusText, sumMetric } from './prometheus.js';

/**
 * Scorecar's own cost while under load, from two scrapes of its Prometheus /metrics around a
 * measured window. Names are configurable; the defaults are prom-client's default metrics plus
 * three scorecar counters:
 *
 *   process_cpu_seconds_total                 prom-client: user + system CPU of the process
 *   nodejs_gc_duration_seconds_sum            prom-client: GC pause time, summed over GC kinds
 *   scorecar_event_loop_active_seconds_total  counter: performance.eventLoopUtilization().active
 *                                              (ms / 1000); ELU = delta / wall time
 *   scorecar_event_loop_utilization           gauge fallback, when the counter is absent
 *   scorecar_heap_allocated_bytes_total       counter: bytes allocated on the main V8 heap
 *   scorecar_items_total                      counter: items scored (cache hits included)
 */
export interface MetricNames {
  cpuSecondsTotal: string;
  gcPauseSecondsSum: string;
  eventLoopActiveSecondsTotal: string;
  eventLoopUtilization: string;
  heapAllocatedBytesTotal: string;
  itemsTotal: string;
  /** Series carrying this label belong to a backend, not to scorecar, and are skipped. */
  backendLabel: string;
}

export const DEFAULT_METRIC_NAMES: MetricNames = {
  cpuSecondsTotal: 'process_cpu_seconds_total',
  gcPauseSecondsSum: 'nodejs_gc_duration_seconds_sum',
  eventLoopActiveSecondsTotal: 'scorecar_event_loop_active_seconds_total',
  eventLoopUtilization: 'scorecar_event_loop_utilization',
  heapAllocatedBytesTotal: 'scorecar_heap_allocated_bytes_total',
  itemsTotal: 'scorecar_items_total',
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
  /** Configured metric names that the scrapes did not contain. */
  missing: string[];
}

export async function scrapeMetrics(url: string, timeoutMs = 5000): Promise<Scrape> {
  const res = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
  return { atMs: performance.now(), samples: parsePrometheusText(text) };
}

/** Differences two scrapes into per-window figures; clientItems is the fallback denominator. */
export function diffScrapes(before: Scrape, after: Scrape, names: MetricNames, clientItems: number): ScorecarStepMetrics {
  const missing: string[] = [];
  const delta = (name: string): number | null => {
    const a = sumMetric(before.samples, name, names.backendLabel);
    const b = sumMetric(after.samples, name, names.backendLabel);
    if (a === null || b === null) return null;
    return Math.max(0, b - a); // a restarted process resets counters; never report negative cost
  };
  const intervalSeconds = Math.max(1e-9, (after.atMs - before.atMs) / 1000);
  const scorecarItems = delta(names.itemsTotal);
  if (scorecarItems === null) missing.push(names.itemsTotal);
  const items = scorecarItems ?? clientItems;
  const perItem = (v: number | null, scale: number): number | null => (v === null || items <= 0 ? null : (v * scale) / items);

  const gc = delta(names.gcPauseSecondsSum);
  if (gc === null) missing.push(names.gcPauseSecondsSum);
  const cpu = delta(names.cpuSecondsTotal);
  if (cpu === null) missing.push(names.cpuSecondsTotal);
  const heap = delta(names.heapAllocatedBytesTotal);
  if (heap === null) missing.push(names.heapAllocatedBytesTotal);

  let elu: number | null = null;
  const active = delta(names.eventLoopActiveSecondsTotal);
  if (active !== null) elu = Math.min(1, active / intervalSeconds);
  else {
    elu = sumMetric(after.samples, names.eventLoopUtilization, names.backendLabel);
    if (elu === null) missing.push(`${names.eventLoopActiveSecondsTotal} or ${names.eventLoopUtilization}`);
  }
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
