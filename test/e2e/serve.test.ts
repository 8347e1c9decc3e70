import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, spawnCli, startEmulator, startScorecar } from './harness.js';

/**
 * The sidecar as a user first meets it: `npm start` (serve --emulate) with its per-response
 * headers and metrics, /rank's item token cache, and --max-pack-tokens splitting MIS packs.
 */
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

/** The value of one sample line of a Prometheus text page (0 when absent). */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('npm start: serve --emulate', () => {
  it('serves /v1/score with its x-scorecar-* headers and reports the pipeline in /metrics', async () => {
    const p = await spawnCli(['serve', '--emulate', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '2'], /HTTP API on (http:\/\/\S+)/);
    procs.push(p);
    expect(p.output()).toMatch(/emulator/i);
    const body = {
      query: '<|im_start|>user\nSearch query: welder, Rotterdam\n',
      items: ['Job posting\nTitle: MIG welder', 'Job posting\nTitle: Harbour crane operator', 'Job posting\nTitle: Florist'],
      label_token_ids: [9693, 2152],
      apply_softmax: true,
    };
    const first = await postJson(p.url, '/v1/score', body);
    expect(first.status).toBe(200);
    expect(first.headers['x-scorecar-items']).toBe('3');
    expect(first.headers['x-scorecar-cache-hits']).toBe('0');
    const ms = (name: string, r = first): number => Number(r.headers[`x-scorecar-${name}-ms`]);
    for (const name of ['tokenize', 'queue', 'backend', 'total']) expect(ms(name), name).toBeGreaterThanOrEqual(0);
    expect(ms('backend')).toBeGreaterThan(0);
    expect(ms('total')).toBeGreaterThanOrEqual(ms('backend'));
    const second = await postJson(p.url, '/v1/score', body);
    expect(second.headers['x-scorecar-cache-hits']).toBe('3');
    expect(JSON.parse(second.text).scores).toEqual(JSON.parse(first.text).scores);

    const page = (await call(p.url + '/metrics', 'GET')).text;
    expect(sample(page, 'scorecar_requests_total{route="/v1/score",code="200"}')).toBe(2);
    expect(sample(page, 'scorecar_items_total{route="/v1/score"}')).toBe(6);
    expect(sample(page, 'scorecar_score_cache_hit_ratio')).toBeCloseTo(0.5, 6);
    expect(sample(page, 'scorecar_score_cache_lookups_total')).toBe(2);
    expect(sample(page, 'scorecar_score_cache_lookup_seconds_total')).toBeGreaterThan(0);
    expect(sample(page, 'scorecar_pack_items_count')).toBe(1); // the hits never reached the backend
    expect(sample(page, 'scorecar_pack_items_sum')).toBe(3);
    expect(sample(page, 'scorecar_pack_tokens_sum')).toBe(JSON.parse(first.text).usage.prompt_tokens);
    expect(sample(page, 'scorecar_stage_seconds_count{stage="total"}')).toBe(2);
    expect(sample(page, 'scorecar_token_cache_misses_total{cache="item"}')).toBeGreaterThan(0);
    expect(page).toMatch(/^scorecar_rank_depth \d+/m);
    // The emulator's own metrics follow scorecar's, labelled by backend.
    expect(page).toMatch(/^sglang:num_requests_total\{backend="http:\/\/127\.0\.0\.1:\d+"/m);
  });
});

describe('/rank item token cache', () => {
  it('tokenizes each posting once while it is hot, keyed by id and content', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--score-cache', 'off']);
    procs.push(scorecar);
    const posting = (id: string, title: string) => ({ id, fields: { title, company: 'Acme', location: 'Oslo', description: `${title} wanted.` } });
    const page1 = [posting('a', 'Welder'), posting('b', 'Baker'), posting('c', 'Nurse')];
    const counts = async (): Promise<{ hits: number; misses: number }> => {
      const page = (await call(scorecar.url + '/metrics', 'GET')).text;
      return { hits: sample(page, 'scorecar_token_cache_hits_total{cache="rank-item"}'), misses: sample(page, 'scorecar_token_cache_misses_total{cache="rank-item"}') };
    };
    const rank = async (items: unknown[]): Promise<{ results: Array<{ id: string; score: number }> }> => {
      const r = await postJson(scorecar.url, '/rank', { query: 'jobs in Oslo', items, depth: items.length });
      expect(r.status).toBe(200);
      // The same x-scorecar-* figures as /v1/score, from the same writer.
      for (const name of ['items', 'cache-hits', 'tokenize-ms', 'queue-ms', 'backend-ms', 'total-ms', 'depth']) expect(r.headers[`x-scorecar-${name}`], name).toMatch(/^\d+(\.\d+)?$/);
      return JSON.parse(r.text);
    };
    const t0 = await counts();
    const first = await rank(page1);
    const t1 = await counts();
    expect(t1.misses - t0.misses).toBe(3);
    // The same postings again, plus a new one: only the new one is tokenized.
    const second = await rank([...page1, posting('d', 'Chef')]);
    const t2 = await counts();
    expect(t2.hits - t1.hits).toBe(3);
    expect(t2.misses - t1.misses).toBe(1);
    const score = (r: typeof first, id: string): number | undefined => r.results.find((x) => x.id === id)?.score;
    for (const id of ['a', 'b', 'c']) expect(score(second, id)).toBe(score(first, id));
    // A posting edited under the same id is tokenized again (the key holds a content hash).
    const third = await rank([posting('a', 'Senior welder'), posting('b', 'Baker')]);
    const t3 = await counts();
    expect(t3.misses - t2.misses).toBe(1);
    expect(t3.hits - t2.hits).toBe(1);
    expect(score(third, 'a')).not.toBe(score(first, 'a'));
  });
});

describe('--max-pack-tokens', () => {
  it('splits a request into MIS packs that fit the budget and merges the scores back in order', async () => {
    const emulator = await startEmulator(['--mis']);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--max-pack-tokens', '64', '--score-cache', 'off', '--coalesce-window-ms', '0']);
    procs.push(scorecar);
    const query = Array.from({ length: 10 }, (_, i) => 1000 + i);
    const items = Array.from({ length: 12 }, (_, i) => Array.from({ length: 15 }, (_, j) => 2000 + 37 * i + j));
    const body = { query, items, label_token_ids: [9693, 2152] };
    const calls = async (): Promise<number> =>
      (JSON.parse((await call(emulator.url + '/emulator/stats', 'GET')).text) as { requests_by_path: Record<string, number> }).requests_by_path['/v1/score'] ?? 0;
    const before = await calls();
    const via = await postJson(scorecar.url, '/v1/score', body);
    const packs = (await calls()) - before;
    expect(via.status).toBe(200);
    // A pack holds the query, one delimiter and (item + delimiter)s within 64 tokens: 3 items.
    expect(packs).toBe(4);
    const page = (await call(scorecar.url + '/metrics', 'GET')).text;
    expect(sample(page, 'scorecar_backend_calls_total{mode="mis"}')).toBe(4);
    const direct = await postJson(emulator.url, '/v1/score', body);
    expect(JSON.parse(via.text).scores).toEqual(JSON.parse(direct.text).scores);
  });
});
