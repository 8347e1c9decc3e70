import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram, FastStatusCounter } from '../../src/metrics/fast-metrics.js';
import { mergeBackendMetrics } from '../../src/metrics/merge-exposition.js';

describe('merged backend metrics', () => {
  it('labels samples by backend and emits each family once', () => {
    const text = (n: number): string =>
      `# HELP sglang:num_requests_total Requests\n# TYPE sglang:num_requests_total counter\nsglang:num_requests_total{model_name="q"} ${n}\n` +
      `# HELP sglang:e2e_request_latency_seconds Lat\n# TYPE sglang:e2e_request_latency_seconds histogram\n` +
      `sglang:e2e_request_latency_seconds_bucket{le="0.1",model_name="q"} 3\nsglang:e2e_request_latency_seconds_sum{model_name="q"} 0.2\nplain_metric 1\n`;
    const out = mergeBackendMetrics([
      { backend: 'http://a:1', text: text(5) },
      { backend: 'http://b:2', text: text(7) },
    ]);
    expect(out.match(/# HELP sglang:num_requests_total/g)).toHaveLength(1);
    expect(out.match(/# TYPE sglang:e2e_request_latency_seconds histogram/g)).toHaveLength(1);
    expect(out).toContain('sglang:num_requests_total{backend="http://a:1",model_name="q"} 5');
    expect(out).toContain('sglang:num_requests_total{backend="http://b:2",model_name="q"} 7');
    expect(out).toContain('sglang:e2e_request_latency_seconds_bucket{backend="http://b:2",le="0.1",model_name="q"} 3');
    expect(out).toContain('plain_metric{backend="http://a:1"} 1');
  });
});

describe('allocation-free metrics', () => {
  it('render as valid Prometheus histograms and counters', async () => {
    const reg = new Registry();
    const h = new FastHistogram('t_seconds', 'help', 'stage', ['a', 'b'] as const, [0.1, 1]);
    const c = new FastStatusCounter('t_requests_total', 'help', ['/x'] as const);
    const k = new FastCounter('t_items_total', 'help', 'route', ['/x'] as const);
    for (const m of [h, c, k]) reg.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    h.observe(h.slot('a'), 0.05);
    h.observe(h.slot('a'), 0.5);
    h.observe(h.slot('b'), 5);
    c.inc(0, 200);
    c.inc(0, 200);
    c.inc(0, 503);
    k.inc(0, 10);
    const text = await reg.metrics();
    expect(text).toContain('t_seconds_bucket{stage="a",le="0.1"} 1');
    expect(text).toContain('t_seconds_bucket{stage="a",le="1"} 2');
    expect(text).toContain('t_seconds_bucket{stage="b",le="+Inf"} 1');
    expect(text).toContain('t_seconds_count{stage="a"} 2');
    expect(text).toContain('t_requests_total{route="/x",code="200"} 2');
    expect(text).toContain('t_requests_total{route="/x",code="503"} 1');
    expect(text).toContain('t_items_total{route="/x"} 10');
  });
});
