import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, ROOT } from './support.js';

/**
 * docker/grafana/scorecar-dashboard.json against what scorecar really exports: every metric a
 * query names must be a family on the /metrics page of a running `scorecar serve --emulate`
 * (histograms through their _bucket/_sum/_count series), and every label a query selects or
 * groups by must be one those series carry (or one Prometheus adds to every target).
 */
const DASHBOARD = join(DOCKER, 'grafana', 'scorecar-dashboard.json');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** Labels Prometheus (and the Prometheus Operator) attach to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job', 'namespace', 'pod', 'service', 'container', 'endpoint']);
const METRIC = /\b(scorecar_[a-z0-9_]+|sglang:[a-z0-9_:]+)\b/g;

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

/** Every PromQL expression in the dashboard: panel targets and query variables. */
function expressions(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type !== 'query' || v.query === undefined) continue;
    out.push({ where: `variable $${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query });
  }
  return out;
}

/** The families of a Prometheus text exposition: name -> type, the label names seen on their samples, and how many samples. */
interface Family {
  type: string;
  labels: Set<string>;
  samples: number;
}

function families(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) fams.set(t[1] as string, { type: t[2] as string, labels: new Set(), samples: 0 });
  }
  const familyOf = (series: string): string | undefined => {
    if (fams.has(series)) return series;
    const base = series.replace(/_(bucket|sum|count)$/, '');
    const f = fams.get(base);
    return f && (f.type === 'histogram' || f.type === 'summary') ? base : undefined;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s/.exec(line);
    const fam = m ? familyOf(m[1] as string) : undefined;
    if (!m || !fam) continue;
    (fams.get(fam) as Family).samples++;
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) fams.get(fam)?.labels.add(l[1] as string);
  }
  return fams;
}

/** Label names an expression selects on ({name=...}) or groups by (by/without (...)). */
function labelsUsed(expr: string): string[] {
  const out: string[] = [];
  for (const sel of expr.matchAll(/\{([^}]*)\}/g)) for (const l of (sel[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.push(l[1] as string);
  for (const g of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) for (const l of (g[1] ?? '').split(',')) if (l.trim()) out.push(l.trim());
  const lv = /label_values\(\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/.exec(expr);
  if (lv) out.push(lv[1] as string);
  return out;
}

describe('Grafana dashboard (docker/grafana/scorecar-dashboard.json)', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const exprs = expressions(dashboard);
  let exposition = '';
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` first');
    // A small young generation, so that the GC-pause histogram gets samples from a little traffic.
    child = spawn(process.execPath, ['--max-semi-space-size=1', MAIN, 'serve', '--emulate', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--emulator-port', '0', '--tokenizer-threads', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve --emulate did not start:\n${out}`)), 60_000);
      child?.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /HTTP API on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
      child?.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      child?.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${out}`)));
    });
    // One scored request and one refused one, so that the per-request series carry samples.
    const post = (body: unknown): Promise<Response> =>
      fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const good = await post({ query: 'senior engineer', items: ['a job', 'another job'], label_token_ids: [9454, 2753], apply_softmax: true });
    expect(good.status).toBe(200);
    await good.arrayBuffer();
    const bad = await post({ query: 'q', items: 'not a list' });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
    // More scoring until a garbage collection has been observed (bounded: 200 requests).
    for (let i = 0; i < 200; i++) {
      exposition = await (await fetch(`${url}/metrics`)).text();
      if (/^scorecar_gc_pause_seconds_count\{[^}]*\} [1-9]/m.test(exposition)) break;
      const items = Array.from({ length: 50 }, (_, j) => `job posting ${i}-${j} `.repeat(20));
      const r = await post({ query: `query ${i}`, items, label_token_ids: [9454, 2753], apply_softmax: true });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
  }, 90_000);

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('has panels, each with at least one query, each query naming a scorecar metric', () => {
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(20);
    for (const p of panels) expect(p.targets?.length ?? 0, `panel "${p.title}"`).toBeGreaterThan(0);
    for (const { where, expr } of exprs) expect(expr.match(METRIC), `${where}: ${expr}`).not.toBeNull();
  });

  it('names only metrics that a running scorecar exports', () => {
    const fams = families(exposition);
    expect(fams.size).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const { where, expr } of exprs) {
      for (const [name] of expr.matchAll(METRIC)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const ok = (fams.has(name) && name === base) || (name !== base && ['histogram', 'summary'].includes(fams.get(base)?.type ?? '')) || (fams.has(name) && fams.get(name)?.type !== 'histogram');
        if (!ok) missing.push(`${where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('selects and groups only by labels those metrics carry', () => {
    const fams = families(exposition);
    const problems: string[] = [];
    for (const { where, expr } of exprs) {
      const names = [...expr.matchAll(METRIC)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));
      const known = new Set<string>(TARGET_LABELS);
      for (const n of names) {
        const f = fams.get(n);
        // A family without samples shows no labels; the requests above give every family the
        // dashboard uses at least one sample, which this asserts.
        if (!f || f.samples === 0) problems.push(`${where}: ${n} has no samples to read its labels from`);
        for (const l of f?.labels ?? []) known.add(l);
        if (f?.type === 'histogram') known.add('le');
      }
      for (const l of labelsUsed(expr)) if (!known.has(l)) problems.push(`${where}: label ${l} is not on ${names.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it('the check is live: a made-up metric and a made-up label are caught', () => {
    const fams = families(exposition);
    expect(fams.has('scorecar_items_total')).toBe(true);
    expect(fams.has('scorecar_itemz_total')).toBe(false);
    expect(fams.get('scorecar_items_total')?.labels.has('route')).toBe(true);
    expect(fams.get('scorecar_items_total')?.labels.has('model')).toBe(false);
    expect(labelsUsed('sum by (route, code) (rate(scorecar_requests_total{instance=~"x",code!="200"}[1m]))').sort()).toEqual(['code', 'code', 'instance', 'route']);
  });
});
