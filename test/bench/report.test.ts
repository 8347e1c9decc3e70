import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SearchStep } from '../../bench/loadgen/slo-search.js';
import { renderJson } from '../../bench/report/json.js';
import { machineInfo } from '../../bench/report/machine.js';
import { SIMULATED_NOTICE, renderMarkdown, renderSummary } from '../../bench/report/markdown.js';
import { parsePrometheusText, sumMetric } from '../../bench/report/prometheus.js';
import { DEFAULT_METRIC_NAMES, type ScorecarStepMetrics, StepScraper, diffScrapes } from '../../bench/report/scrape.js';
import { renderSvg } from '../../bench/report/svg.js';
import { type BenchReport, REPORT_SCHEMA } from '../../bench/report/types.js';

function step(index: number, rps: number, p95: number, pass: boolean): SearchStep {
  return {
    index,
    phase: index < 3 ? 'probe-up' : 'bisect',
    pass,
    failReasons: pass ? [] : [`p95 ${p95} ms > 500 ms`],
    generatorLagging: false,
    offeredRps: rps,
    durationSeconds: 10,
    scheduled: rps * 10,
    ok: rps * 10 - (pass ? 0 : 3),
    errors: pass ? 0 : 2,
    errorsByStatus: pass ? {} : { '503': 2 },
    timeouts: pass ? 0 : 1,
    achievedRps: rps * (pass ? 1 : 0.97),
    itemsPerSecond: rps * 10,
    latency: { count: rps * 10, p50: p95 / 3, p90: p95 * 0.8, p95, p99: p95 * 1.5, p999: p95 * 2, max: p95 * 3, mean: p95 / 2.5 },
    service: { count: rps * 10, p50: 10, p90: 20, p95: 25, p99: 30, p999: 40, max: 50, mean: 12 },
    dispatchLag: { count: rps * 10, p50: 0.1, p90: 0.3, p95: 0.4, p99: 0.9, p999: 1, max: 2, mean: 0.2 },
    firstSeenItems: 5,
    cacheHits: null,
  };
}

function report(simulated: boolean): BenchReport {
  const metrics: ScorecarStepMetrics = {
    intervalSeconds: 10,
    items: 1000,
    itemsSource: 'scorecar',
    gcPauseSeconds: 0.002,
    gcPauseMsPer10kItems: 20,
    eventLoopUtilization: 0.4,
    processCpuSeconds: 3,
    cpuMicrosPerItem: 3000,
    heapBytesPerItem: 512,
    sources: { itemsTotal: 'scorecar_items_total' },
    missing: ['heapAllocatedBytesTotal'],
  };
  const withMetrics = { ...step(1, 8, 120, true), scorecar: metrics };
  return {
    schema: REPORT_SCHEMA,
    name: 'direct vs <scorecar> & friends',
    simulated,
    createdAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 42,
    machine: machineInfo(),
    tokenCacheState: 'warm',
    config: {
      slo: { percentile: 95, ms: 500, maxErrorRate: 0.01 },
      search: {
        startRps: 4, growth: 2, minRps: 0.5, maxRps: 10000, tolerance: 0.05, maxSteps: 30, warmupSeconds: 2,
        stepSeconds: 10, timeoutMs: 2000, cooldownMs: 200, settleMaxMs: 6000, maxSeconds: 600, quick: false,
      },
      arrivals: { process: 'poisson', burst: null },
      itemsPerRequest: 10,
      connections: 256,
      seed: 1,
      metrics: { url: 'http://127.0.0.1:30001/metrics', names: DEFAULT_METRIC_NAMES },
    },
    workload: {
      mode: 'summarized', template: 'qwen3-yes-no', templateVersion: 1, seed: 1,
      stats: {
        items: 300, queries: 200, meanPrefixTokens: 49, meanItemTokens: 167, meanPromptTokens: 216, maxPromptTokens: 380,
        meanDescriptionTokens: 121, descriptionShare: 0.56, truncatedFraction: 0,
      },
      navigation: null,
      familyAffinity: 0.7,
    },
    targets: [
      { name: 'direct | text', kind: 'text', url: 'http://127.0.0.1:30000/v1/score', emulatorProfile: 'bench-test', bestRps: 16, bestItemsPerSecond: 160, stopReason: 'converged',
        steps: [step(0, 4, 60, true), withMetrics, step(2, 16, 400, true), step(3, 32, 2000, false)] },
      { name: 'scorecar ids', kind: 'ids', url: 'http://127.0.0.1:30001/v1/score', emulatorProfile: null, bestRps: null, bestItemsPerSecond: null, stopReason: 'budget',
        steps: [] },
    ],
    notes: ['a note'],
  };
}

/** A small XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function checkXml(xml: string): { tags: Map<string, number>; texts: string[] } {
  const tags = new Map<string, number>();
  const texts: string[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let last = 0;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) {
    const between = xml.slice(last, m.index);
    if (/[<>]/.test(between) || /&(?!(amp|lt|gt|quot|apos);)/.test(between)) throw new Error(`bad text: ${between.slice(0, 60)}`);
    if (between.trim()) texts.push(between.trim());
    last = re.lastIndex;
    const [, close, name, attrs, selfClose] = m;
    if (name === undefined) continue;
    if (attrs && /&(?!(amp|lt|gt|quot|apos);)/.test(attrs)) throw new Error(`bad attribute: ${attrs}`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      tags.set(name, (tags.get(name) ?? 0) + 1);
      if (!selfClose) stack.push(name);
    }
  }
  if (xml.slice(last).trim() !== '') throw new Error('trailing text');
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(', ')}`);
  return { tags, texts };
}

describe('report writers', () => {
  it('JSON round-trips and carries machine info, config and every step', () => {
    const r = report(true);
    const parsed = JSON.parse(renderJson(r)) as BenchReport;
    expect(parsed.schema).toBe('scorecar-bench/1');
    expect(parsed.simulated).toBe(true);
    expect(parsed.machine.node).toBe(process.version);
    expect(parsed.machine.cpus.length).toBeGreaterThan(0);
    expect(typeof parsed.machine.hostname).toBe('string');
    expect(parsed.tokenCacheState).toBe('warm');
    expect(parsed.targets[0]?.steps.length).toBe(4);
    expect(parsed.targets[0]?.steps[3]?.errorsByStatus).toEqual({ '503': 2 });
    expect((parsed.targets[0]?.steps[1]?.scorecar as ScorecarStepMetrics).heapBytesPerItem).toBe(512);
    // Non-finite numbers never reach JSON as invalid tokens.
    const odd = { ...r, durationSeconds: Number.NaN };
    expect((JSON.parse(renderJson(odd)) as { durationSeconds: unknown }).durationSeconds).toBeNull();
  });

  it('markdown has the summary and step tables and the simulated label', () => {
    const md = renderMarkdown(report(true));
    expect(md.split('\n')[0]).toBe('# scorecar bench: direct vs <scorecar> & friends (simulated)');
    expect(md).toContain(SIMULATED_NOTICE);
    expect(md).toContain('| target | kind | max RPS at p95 <= 500 ms | items/s | steps | stopped |');
    expect(md).toContain('| direct \\| text | text | 16.0 | 160.0 | 4 | converged |');
    expect(md).toContain('| scorecar ids | ids | - | - | 0 | budget |');
    // One row per step, with the same column count as the header.
    const rows = md.split('\n').filter((l) => /^\| \d+ \| (probe-up|bisect) \|/.test(l));
    expect(rows.length).toBe(4);
    const cols = (l: string): number => l.replace(/\\\|/g, '').split('|').length;
    const header = md.split('\n').find((l) => l.startsWith('| # | phase'));
    for (const row of rows) expect(cols(row)).toBe(cols(header as string));
    expect(md).toContain('fail: p95 2000 ms > 500 ms');
    expect(md).toMatch(/\| 1 \| 8\.0 \| 20\.000 \| 0\.400 \| 3\.000 \| 3000\.0 \| 512 \| scorecar \|/);
    expect(md).toContain('Not exported by the target: heapAllocatedBytesTotal');
    expect(renderMarkdown(report(false))).not.toMatch(/simulated/i);
    expect(renderSummary(report(true)).startsWith('SIMULATED')).toBe(true);
  });

  it('SVG is well-formed, with one line per target and percentile, the SLO line and the label', () => {
    const svg = renderSvg(report(true));
    const { tags, texts } = checkXml(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // The second target has no steps: only the first draws p50, p95, p99.
    expect(tags.get('polyline')).toBe(3);
    expect(svg.match(/data-percentile="p95"/g)?.length).toBe(1);
    expect(svg).toContain('data-target="direct | text"');
    expect(svg.match(/<line class="slo"/g)?.length).toBe(1);
    expect(texts[0]).toBe('scorecar bench: direct vs &lt;scorecar&gt; &amp; friends (SIMULATED)');
    expect(texts).toContain('SLO p95 500 ms');
    expect(texts).toContain('SIMULATED (emulator)');
    // Steps: 4 points on each of the 3 polylines.
    const points = /points="([^"]*)"/.exec(svg)?.[1]?.split(' ') ?? [];
    expect(points.length).toBe(4);
    for (const p of points) expect(p).toMatch(/^\d+(\.\d)?,\d+(\.\d)?$/);
    // Points go left to right with RPS.
    const xs = points.map((p) => Number(p.split(',')[0]));
    expect(xs).toEqual(xs.slice().sort((a, b) => a - b));
    const plain = renderSvg(report(false));
    checkXml(plain);
    expect(plain).not.toMatch(/SIMULATED/);
  });

  it('SVG without any completed step says so and stays valid', () => {
    const r = report(false);
    r.targets = [{ ...(r.targets[1] as BenchReport['targets'][number]) }];
    const svg = renderSvg(r);
    expect(checkXml(svg).texts).toContain('no completed steps');
  });
});

const EXPOSITION = `# HELP scorecar_items_total Items scored
# TYPE scorecar_items_total counter
scorecar_items_total{route="/v1/score"} 1200
scorecar_items_total{route="/rank"} 300
scorecar_process_cpu_seconds_total 12.5
scorecar_gc_pause_seconds_sum{type="minor"} 0.010
scorecar_gc_pause_seconds_sum{type="major"} 0.004
scorecar_gc_pause_seconds_bucket{type="minor",le="+Inf"} 42
scorecar_heap_allocated_bytes_total 1e9
scorecar_event_loop_utilization 0.25
weird{path="a\\"b\\\\c\\nd",x="1",} 7 1700000000000
process_cpu_seconds_total{backend="http://gpu:30000"} 999
sglang:num_queue_reqs{model_name="Qwen/Qwen3-0.6B",backend="http://gpu:30000"} 3
nan_metric NaN
inf_metric -Inf
`;

describe('Prometheus text', () => {
  it('parses names with colons, labels with escapes, special values and timestamps', () => {
    const s = parsePrometheusText(EXPOSITION);
    expect(s.length).toBe(13);
    const weird = s.find((x) => x.name === 'weird');
    expect(weird?.labels).toEqual({ path: 'a"b\\c\nd', x: '1' });
    expect(weird?.value).toBe(7);
    expect(s.find((x) => x.name === 'sglang:num_queue_reqs')?.labels.backend).toBe('http://gpu:30000');
    expect(s.find((x) => x.name === 'scorecar_gc_pause_seconds_bucket')?.labels.le).toBe('+Inf');
    expect(Number.isNaN(s.find((x) => x.name === 'nan_metric')?.value)).toBe(true);
    expect(s.find((x) => x.name === 'inf_metric')?.value).toBe(-Infinity);
    expect(sumMetric(s, 'scorecar_items_total', 'backend')).toBe(1500);
    expect(sumMetric(s, 'process_cpu_seconds_total', 'backend')).toBeNull();
    expect(sumMetric(s, 'process_cpu_seconds_total', null)).toBe(999);
    expect(() => parsePrometheusText('ok 1\nbad{x=1} 2')).toThrow(/line 2/);
  });

  it('diffs two scrapes into per-item figures, naming the metric each came from', () => {
    const before = { atMs: 1000, samples: parsePrometheusText(EXPOSITION) };
    const later = EXPOSITION.replace('1200', '11200')
      .replace('12.5', '15.5')
      .replace('0.010', '0.012')
      .replace('1e9', '2e9')
      .replace('0.25', '0.4');
    const after = { atMs: 11_000, samples: parsePrometheusText(later) };
    const d = diffScrapes(before, after, DEFAULT_METRIC_NAMES, 999);
    expect(d.items).toBe(10_000);
    expect(d.itemsSource).toBe('scorecar');
    expect(d.intervalSeconds).toBe(10);
    expect(d.processCpuSeconds).toBeCloseTo(3, 9);
    expect(d.cpuMicrosPerItem).toBeCloseTo(300, 6);
    expect(d.gcPauseSeconds).toBeCloseTo(0.002, 9);
    expect(d.gcPauseMsPer10kItems).toBeCloseTo(2, 6);
    expect(d.heapBytesPerItem).toBeCloseTo(100_000, 3);
    expect(d.eventLoopUtilization).toBe(0.4);
    expect(d.sources).toEqual({
      itemsTotal: 'scorecar_items_total',
      gcPauseSecondsSum: 'scorecar_gc_pause_seconds_sum',
      cpuSecondsTotal: 'scorecar_process_cpu_seconds_total',
      heapAllocatedBytesTotal: 'scorecar_heap_allocated_bytes_total',
      eventLoopUtilization: 'scorecar_event_loop_utilization',
    });
    expect(d.missing).toEqual([]);
    // An active-seconds counter, when exported, gives ELU over exactly the window.
    const withCounter = (t: string, v: number): string => `${t}scorecar_event_loop_active_seconds_total ${v}\n`;
    const d2 = diffScrapes(
      { atMs: 0, samples: parsePrometheusText(withCounter(EXPOSITION, 100)) },
      { atMs: 4000, samples: parsePrometheusText(withCounter(later, 103)) },
      DEFAULT_METRIC_NAMES,
      0,
    );
    expect(d2.eventLoopUtilization).toBeCloseTo(0.75, 9);
    // Without scorecar's counters, the client's item count is the denominator.
    const bare = { atMs: 0, samples: parsePrometheusText('process_cpu_seconds_total 1\n') };
    const bare2 = { atMs: 1000, samples: parsePrometheusText('process_cpu_seconds_total 2\n') };
    const d3 = diffScrapes(bare, bare2, DEFAULT_METRIC_NAMES, 500);
    expect(d3.itemsSource).toBe('client');
    expect(d3.cpuMicrosPerItem).toBeCloseTo(2000, 6);
    expect(d3.sources.cpuSecondsTotal).toBe('process_cpu_seconds_total');
    expect(d3.missing).toEqual(['itemsTotal', 'gcPauseSecondsSum', 'heapAllocatedBytesTotal', 'eventLoopUtilization']);
    // A labelled series born during the window (first GC of the run) counts from zero.
    const born = diffScrapes(bare2, { atMs: 2000, samples: parsePrometheusText('scorecar_gc_pause_seconds_sum{type="minor"} 0.003\n') }, DEFAULT_METRIC_NAMES, 10);
    expect(born.gcPauseSeconds).toBeCloseTo(0.003, 9);
  });

  it('StepScraper scrapes a live /metrics around a window and reports failures as data', async () => {
    let items = 0;
    const server: Server = createServer((_req, res) => {
      items += 1000;
      res.end(`scorecar_items_total ${items}\nscorecar_process_cpu_seconds_total ${items / 1e4}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      const scraper = new StepScraper(url, DEFAULT_METRIC_NAMES);
      expect(await scraper.end(0)).toEqual({ error: 'no scrape was taken when the window opened' });
      scraper.begin();
      const m = (await scraper.end(0)) as ScorecarStepMetrics;
      expect(m.items).toBe(1000);
      expect(m.processCpuSeconds).toBeCloseTo(0.1, 9);
      const down = new StepScraper('http://127.0.0.1:9/metrics', DEFAULT_METRIC_NAMES);
      down.begin();
      expect((await down.end(0)) as { error: string }).toEqual({ error: expect.stringMatching(/metrics scrape failed/) });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
