// Static, deadline-driven shaping is what these tests exercise: the adaptive budget and the
// queue-time bound (the defaults) are turned off where a tiny budget is set.
import { request as httpRequest } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { QWEN3_YES_NO } from '../../src/tokenize/prompt-template.js';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';

/** Coalescing, the traffic shaper and /rank, end to end on loopback. */
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

async function emulatorScoreCalls(emulator: Proc): Promise<number> {
  const s = JSON.parse((await call(emulator.url + '/emulator/stats', 'GET')).text) as { requests_by_path: Record<string, number> };
  return s.requests_by_path['/v1/score'] ?? 0;
}

describe('cross-request coalescing', () => {
  it('merges concurrent same-query requests into one pack and splits the answers back', async () => {
    const emulator = await startEmulator(['--mis']);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--coalesce-window-ms', '50', '--score-cache', 'off']);
    procs.push(scorecar);
    const query = [11, 22, 33, 44];
    const bodies = Array.from({ length: 8 }, (_, r) => ({
      query,
      items: Array.from({ length: 3 + (r % 3) }, (_, i) => [100 + r, 200 + i, 300 + r * i]),
      label_token_ids: [9693, 2152],
      apply_softmax: r % 2 === 0,
    }));
    // Same query but different flags cannot share a call: two groups (softmax on and off).
    const before = await emulatorScoreCalls(emulator);
    const via = await Promise.all(bodies.map((b) => postJson(scorecar.url, '/v1/score', b)));
    const calls = (await emulatorScoreCalls(emulator)) - before;
    expect(calls).toBe(2);
    for (let r = 0; r < bodies.length; r++) {
      const direct = await postJson(emulator.url, '/v1/score', bodies[r]);
      expect(via[r]?.status).toBe(200);
      expect(JSON.parse(via[r]!.text).scores).toEqual(JSON.parse(direct.text).scores);
    }
    const metrics = (await call(scorecar.url + '/metrics', 'GET')).text;
    expect(metrics).toMatch(/scorecar_coalesced_requests_total 8/);
  });
});

describe('traffic shaper', () => {
  it('refuses work that cannot meet its deadline with 429 and Retry-After, and answers every request once', async () => {
    // 150 ms per prefill step: a backlog builds quickly.
    const emulator = await startEmulator(['--cost', 'stepLaunchUs=150000']);
    procs.push(emulator);
    // A 4-token budget lets one request in at a time: 30 of them would take 4.5 s.
    const scorecar = await startScorecar([emulator.url], ['--shaper-budget-tokens', '4', '--no-shaper-adaptive', '--max-queue-ms', '1e9', '--coalesce-window-ms', '0', '--score-cache', 'off']);
    procs.push(scorecar);
    const sends = Array.from({ length: 30 }, (_, r) =>
      postJson(scorecar.url, '/v1/score', { query: [1, 2], items: [[r, r + 1]], label_token_ids: [9693] }, { 'x-scorecar-deadline-ms': '400' }),
    );
    const replies = await Promise.all(sends);
    const codes = replies.map((r) => r.status);
    expect(codes.length).toBe(30);
    expect(codes.every((c) => c === 200 || c === 429 || c === 504)).toBe(true);
    const refused = replies.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.text)).toMatchObject({ object: 'error', code: 429 });
    }
    const bad = await postJson(scorecar.url, '/v1/score', { query: [1], items: [[2]], label_token_ids: [9693] }, { 'x-scorecar-priority': 'urgent' });
    expect(bad.status).toBe(400);
  }, 60_000);

  it('answers 504 when a request outlives its deadline in flight', async () => {
    const emulator = await startEmulator(['--cost', 'stepLaunchUs=300000']);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--coalesce-window-ms', '0', '--score-cache', 'off']);
    procs.push(scorecar);
    // Nothing measured yet, so the shaper admits it; the 300 ms step outlasts the 100 ms deadline.
    const r = await postJson(scorecar.url, '/v1/score', { query: [1], items: [[2, 3]], label_token_ids: [9693] }, { 'x-scorecar-deadline-ms': '100' });
    expect(r.status).toBe(504);
    expect(JSON.parse(r.text)).toMatchObject({ object: 'error', code: 504 });
    expect((await postJson(scorecar.url, '/v1/score', { query: [1], items: [[2, 3]], label_token_ids: [9693] })).status).toBe(200);
  }, 60_000);

  it('serves online before nearline when both wait', async () => {
    const emulator = await startEmulator(['--cost', 'stepLaunchUs=100000']);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--shaper-budget-tokens', '8', '--no-shaper-adaptive', '--max-queue-ms', '1e9', '--coalesce-window-ms', '0', '--score-cache', 'off']);
    procs.push(scorecar);
    const order: string[] = [];
    const send = (label: string, priority: string): Promise<void> =>
      postJson(scorecar.url, '/v1/score', { query: [1, 2], items: [[3, 4, 5, 6]], label_token_ids: [9693] }, { 'x-scorecar-priority': priority }).then((r) => {
        expect(r.status).toBe(200);
        order.push(label);
      });
    const first = send('first', 'online'); // occupies the budget
    await new Promise((r) => setTimeout(r, 30));
    const nearline = [send('n1', 'nearline'), send('n2', 'nearline')];
    await new Promise((r) => setTimeout(r, 30));
    const online = [send('o1', 'online'), send('o2', 'online')];
    await Promise.all([first, ...nearline, ...online]);
    expect(order.indexOf('o1')).toBeLessThan(order.indexOf('n1'));
    expect(order.indexOf('o2')).toBeLessThan(order.indexOf('n2'));
  }, 60_000);
});

function rawRank(url: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + '/rank', { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('POST /rank', () => {
  it('scores the first D candidates best first, keeps the rest in retrieval order, and caches', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url]);
    procs.push(scorecar);
    const items = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0
        ? { id: `job-${i}`, text: `Title: Engineer ${i}\nDescription:\nBuild things.` }
        : i % 3 === 1
          ? { id: `job-${i}`, fields: { title: `Analyst ${i}`, company: 'Acme', location: 'Remote', employment_type: 'Full-time', remote: true, description: 'Numbers.' } }
          : { id: `job-${i}`, ids: [1000 + i, 2000 + i, 3000] },
    );
    const query = 'data jobs near Zürich';
    const r = await rawRank(scorecar.url, { query, items, depth: 20, top_k: 15 });
    expect(r.status).toBe(200);
    const results = r.json.results as Array<{ id: string; score: number; cached: boolean }>;
    expect(r.json.depth).toBe(20);
    expect(results).toHaveLength(15);
    expect(r.json.unscored).toEqual(items.slice(20).map((it) => it.id));
    for (let k = 1; k < results.length; k++) expect(results[k - 1]!.score).toBeGreaterThanOrEqual(results[k]!.score);
    expect(results.every((x) => x.cached === false)).toBe(true);

    // Each score is P(yes) of the template's whole prompt, as SGLang scores it from text.
    for (const res of results.filter((x) => !('ids' in items[Number(x.id.slice(4))]!)).slice(0, 5)) {
      const it = items[Number(res.id.slice(4))] as { text?: string; fields?: Record<string, unknown> };
      const body = it.text ?? QWEN3_YES_NO.renderFields(it.fields as never);
      const direct = await postJson(emulator.url, '/v1/score', {
        query: QWEN3_YES_NO.prefix(query),
        items: [QWEN3_YES_NO.item(body)],
        label_token_ids: [...QWEN3_YES_NO.labelTokenIds],
        apply_softmax: true,
      });
      expect(res.score).toBeCloseTo(JSON.parse(direct.text).scores[0][0], 12);
    }

    const again = await rawRank(scorecar.url, { query, items, depth: 20 });
    expect(again.json.cache_hits).toBe(20);
    expect((again.json.results as Array<{ cached: boolean }>).every((x) => x.cached)).toBe(true);
    expect((again.json.results as unknown[]).length).toBe(20);

    // The controller's depth applies when the request names none (default start 250 > 30 items).
    const auto = await rawRank(scorecar.url, { query, items });
    expect(auto.json.depth).toBe(30);
    expect(auto.json.unscored).toEqual([]);
  }, 60_000);

  it('rejects bad /rank bodies with the 400 envelope', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url]);
    procs.push(scorecar);
    for (const bad of [
      { items: [] },
      { query: 'q', items: [{ text: 'no id' }] },
      { query: 'q', items: [{ id: 'a', text: 'x', ids: [1] }] },
      { query: 'q', items: [{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }] },
      { query: 'q', items: [{ id: 'a', text: 'x' }], template: 'nope' },
      { query: 'q', items: [{ id: 'a', text: 'x' }], depth: 0 },
      { query: 'q', items: [{ id: 'a', fields: { salary: 'lots' } }] },
    ]) {
      const r = await rawRank(scorecar.url, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json).toMatchObject({ object: 'error', code: 400 });
    }
  });
});
