import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { STATUS_BAD_BODY } from '../../bench/loadgen/target.js';
import { RankTarget, rankBody, rankCandidate, readRankReply } from '../../bench/loadgen/targets/rank.js';
import { gpuCapacity, median, mdTable } from '../../bench/ranking/common.js';
import { renderDepthSvg } from '../../bench/ranking/depth-svg.js';
import type { RampWindowResult } from '../../bench/loadgen/ramp.js';
import type { Corpus, CorpusItem, CorpusQuery } from '../../bench/workload/corpus.js';
import { QWEN3_YES_NO as BENCH_TEMPLATE } from '../../bench/workload/template.js';
import { QWEN3_YES_NO as SRC_TEMPLATE } from '../../src/tokenize/prompt-template.js';

function item(id: number): CorpusItem {
  const fields = { title: `Nurse ${id}`, company: 'Acme "Care" & Co', location: 'Lyon, France', employmentType: 'Full-time', remote: 'hybrid' as const };
  const description = `Care for patients.\nShift ${id}.`;
  return {
    id,
    familyIndex: 0,
    fields,
    description,
    text: BENCH_TEMPLATE.itemHead(fields) + description + BENCH_TEMPLATE.itemSuffix,
    ids: new Int32Array([id]),
    descriptionTokens: 5,
    truncated: false,
  };
}

const query: CorpusQuery = { id: 0, familyIndex: 0, query: 'night nurse lyon', text: BENCH_TEMPLATE.prefix('night nurse lyon'), ids: new Int32Array([1]) };

describe('/rank target', () => {
  it('a candidate\'s fields render to exactly the item part the corpus tokenized', () => {
    const it0 = item(7);
    const c = rankCandidate(it0);
    expect(c.id).toBe('7');
    expect(SRC_TEMPLATE.item(SRC_TEMPLATE.renderFields(c.fields))).toBe(it0.text);
  });

  it('builds valid JSON bodies with or without a depth', () => {
    const items = [item(1), item(2)];
    const frag = (p: { id: number }): string => JSON.stringify(rankCandidate(items.find((x) => x.id === p.id) as CorpusItem));
    const withDepth = JSON.parse(rankBody('q "x"', items, frag, '],"depth":1}'));
    expect(withDepth).toEqual({ query: 'q "x"', items: items.map(rankCandidate), depth: 1 });
    expect(JSON.parse(rankBody('q', items, frag, ']}')).depth).toBeUndefined();
  });

  it('accepts consistent answers only, and reports the depth used', () => {
    const ok = JSON.stringify({ results: [{ id: '1', score: 0.9, cached: false }], unscored: ['2', '3'], depth: 1, cache_hits: 0, model: 'm' });
    expect(readRankReply(ok, 3)).toEqual({ status: 200, scoredItems: 1, depth: 1, cacheHits: 0 });
    const bad = [
      'not json',
      JSON.stringify({ results: [], unscored: ['2'], depth: 1 }), // 1 + 1 != 3
      JSON.stringify({ results: [{ id: '1', score: null }], unscored: ['2', '3'], depth: 1 }),
      JSON.stringify({ results: [{ id: '1', score: 0.5 }, { id: '2', score: 0.4 }], unscored: ['3'], depth: 1 }),
      JSON.stringify({ results: [], unscored: [], depth: 4 }),
    ];
    for (const b of bad) expect(readRankReply(b, 3).status).toBe(STATUS_BAD_BODY);
  });

  it('posts to /rank with fields from the corpus and the configured depth', async () => {
    let got: unknown = null;
    let headers: Record<string, unknown> = {};
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got = JSON.parse(body);
        headers = req.headers;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ results: [{ id: '1', score: 0.5, cached: false }], unscored: ['2'], depth: 1, cache_hits: 0, model: 'm' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const corpus = { items: [item(0), item(1), item(2)], queries: [query] } as unknown as Corpus;
    const t = new RankTarget({ name: 'rank', url, corpus, depth: 1, connections: 1, apiKey: 'k' });
    try {
      const r = await t.send({ query, items: [corpus.items[1]!, corpus.items[2]!], page: 1, session: 0, priority: 'nearline' }, AbortSignal.timeout(5000));
      expect(r).toEqual({ status: 200, scoredItems: 1, depth: 1, cacheHits: 0 });
      expect(got).toEqual({ query: 'night nurse lyon', items: [rankCandidate(item(1)), rankCandidate(item(2))], depth: 1 });
      expect([headers.authorization, headers['x-scorecar-priority']]).toEqual(['Bearer k', 'nearline']);
      expect(t.url).toBe(`${url}/rank`);
    } finally {
      await t.close();
      server.close();
    }
  });
});

describe('ranking bench helpers', () => {
  it('capacity of the modelled GPU follows the cost model (pruned-375m, summarized prompts)', () => {
    const c = gpuCapacity('pruned-375m', 216);
    expect(c.stepTokens).toBe(8192);
    // ~38 prompts per ~12 ms step: about 3,200 items/s (the README's GPU-bound figure).
    expect(c.stepMs).toBeGreaterThan(10);
    expect(c.stepMs).toBeLessThan(14);
    expect(c.itemsPerSecond).toBeGreaterThan(2800);
    expect(c.itemsPerSecond).toBeLessThan(3600);
    expect(gpuCapacity('qwen3-0.6b', 216).itemsPerSecond).toBeLessThan(c.itemsPerSecond);
    expect(() => gpuCapacity('nope', 216)).toThrow(/profile/);
  });

  it('median and markdown tables', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(mdTable(['a', 'b'], [['1', '2']], ['l', 'r'])).toEqual(['| a | b |', '| --- | ---: |', '| 1 | 2 |']);
  });
});

function windowAt(i: number, rps: number, p95: number, depth: number | null, timeouts = 0): RampWindowResult {
  return {
    index: i, phase: null, startS: i * 5, durationS: 5, offeredRps: rps, scheduled: 10, ok: 10 - timeouts, errors: 0, errorsByStatus: {}, timeouts,
    achievedRps: 2, itemsPerSecond: 200, latency: { count: 10, p50: p95 / 2, p90: p95, p95, p99: p95, p999: p95, max: p95, mean: p95 / 2 },
    depth: depth === null ? null : { mean: depth, min: depth, max: depth },
  };
}

describe('depth chart', () => {
  it('is well-formed SVG with both runs, the target, and the SIMULATED label', () => {
    const ctl = [windowAt(0, 3, 200, 400), windowAt(1, 12, 380, 150), windowAt(2, 3, 250, 300)];
    const fixed = [windowAt(0, 3, 150, 250), windowAt(1, 12, 4000, 250, 4), windowAt(2, 3, 300, 250)];
    const svg = renderDepthSvg(
      [
        { name: 'controller <PID>', windows: ctl, samples: [{ tS: 1, depth: 380, signalMs: 210 }, { tS: 7, depth: 160, signalMs: 420 }, { tS: 12, depth: 290, signalMs: null }] },
        { name: 'fixed depth 250', windows: fixed, samples: [] },
      ],
      { title: 'depth & p95 (SIMULATED)', subtitle: 'test', targetMs: 400, sloMs: 500, simulated: true },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('SIMULATED (emulator)');
    expect(svg).toContain('controller &lt;PID&gt;');
    expect(svg).toContain('depth &amp; p95');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    expect(svg.match(/data-series="p95"/g)?.length).toBe(2);
    expect(svg.match(/data-series="depth-gauge"/g)?.length).toBe(1);
    expect(svg.match(/data-series="depth-answers"/g)?.length).toBe(1);
    expect(svg.match(/class="target"/g)?.length).toBe(1);
    // Balanced tags: every opened element is closed.
    const opened = (svg.match(/<(svg|text|title)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text|title)>/g) ?? []).length;
    expect(closed).toBe(opened);
    // A window that lost requests gets a hollow marker.
    expect(svg).toContain('fill="#ffffff" stroke="#ff7f0e"');
  });

  it('says so when there is no data', () => {
    const svg = renderDepthSvg([{ name: 'x', windows: [], samples: [] }], { title: 't', subtitle: 's', targetMs: 400, sloMs: 500, simulated: true });
    expect(svg).toContain('no data');
  });
});
