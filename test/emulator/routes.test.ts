import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, startEmulator } from '../e2e/harness.js';

/**
 * The emulator's SGLang routes over real HTTP: one score per prompt whatever the route, each
 * MIS generation reported in /server_info as SGLang reports it, the info and admin routes, and
 * the text memo that still charges the modelled tokenizer time.
 */
const DELIMITER = 151643;
const LABELS = [9693, 2152];
let single: Proc;
let mis: Proc;
let delimited: Proc;

beforeAll(async () => {
  single = await startEmulator(['--cost', 'tokenizePerTokenUs=2,tokenizePerTextUs=100']);
  mis = await startEmulator(['--mis']);
  delimited = await startEmulator(['--mis-delimiter', String(DELIMITER)]);
});

afterAll(async () => {
  for (const p of [single, mis, delimited]) await p?.stop();
});

type Json = Record<string, unknown>;
async function json(p: Proc, method: string, path: string, body?: unknown): Promise<{ status: number; value: Json }> {
  const r = body === undefined ? await call(p.url + path, method) : await postJson(p.url, path, body);
  return { status: r.status, value: r.text.length > 0 && r.text.trimStart().startsWith('{') ? (JSON.parse(r.text) as Json) : { text: r.text } };
}

const query = [151644, 872, 198, 1234, 4321, 99];
const items = [[5, 6, 7], [8], [9, 10, 11, 12, 13]];

describe('one score per prompt, by every route', () => {
  it('/v1/score with ids in single-item mode, /generate, and both MIS generations agree', async () => {
    const body = { query, items, label_token_ids: LABELS, apply_softmax: false };
    const viaScore = (await json(single, 'POST', '/v1/score', body)).value.scores as number[][];
    expect(viaScore).toHaveLength(items.length);
    // /generate: one prompt per item, prefill only, the labels' logprobs at the next position.
    const gen = await postJson(single.url, '/generate', {
      input_ids: items.map((it) => [...query, ...it]),
      sampling_params: { max_new_tokens: 0, temperature: 0 },
      return_logprob: true,
      token_ids_logprob: LABELS,
    });
    expect(gen.status).toBe(200);
    const outs = JSON.parse(gen.text) as Array<{ meta_info: { output_token_ids_logprobs: Array<Array<[number, number, null]>> } }>;
    outs.forEach((o, i) => {
      const next = o.meta_info.output_token_ids_logprobs[0] as Array<[number, number, null]>;
      expect(next.map((e) => e[1])).toEqual(LABELS);
      next.forEach((e, k) => expect(Math.exp(e[0])).toBeCloseTo((viaScore[i] as number[])[k] as number, 12));
    });
    for (const p of [mis, delimited]) {
      const packed = (await json(p, 'POST', '/v1/score', body)).value.scores as number[][];
      expect(packed).toEqual(viaScore);
    }
  });

  it('/v1/score as text equals /v1/score with the ids /tokenize gives for the same text', async () => {
    const q = '<|im_start|>user\nSearch query: data engineer, Zürich 🙂\n';
    const its = ['Job posting\nTitle: Data engineer\nLocation: Zürich', 'Job posting\nTitle: 厨师 (chef)'];
    const viaText = (await json(single, 'POST', '/v1/score', { query: q, items: its, label_token_ids: LABELS, apply_softmax: true })).value;
    // Single-item mode tokenizes each query+item string as one text, as SGLang does.
    const ids = (await json(single, 'POST', '/tokenize', { prompt: its.map((t) => q + t) })).value.tokens as number[][];
    for (const [i, whole] of ids.entries()) {
      const viaIds = (await json(single, 'POST', '/v1/score', { query: [], items: [whole], label_token_ids: LABELS, apply_softmax: true })).value;
      expect((viaIds.scores as number[][])[0]).toEqual((viaText.scores as number[][])[i]);
    }
    expect((viaText.usage as Json).prompt_tokens).toBe(ids.reduce((n, t) => n + t.length, 0));
  });
});

describe('/server_info', () => {
  it('reports each multi-item scoring generation as SGLang does, on both of its paths', async () => {
    const info = async (p: Proc): Promise<Json> => {
      const a = await json(p, 'GET', '/server_info');
      const b = await json(p, 'GET', '/get_server_info');
      expect(a.status).toBe(200);
      expect(b.value).toEqual(a.value);
      return a.value;
    };
    const off = await info(single);
    expect(off.enable_mis).toBe(false);
    expect(off.multi_item_scoring_delimiter).toBeUndefined();
    expect(off.disable_radix_cache).toBe(false);
    const on = await info(mis);
    expect(on.enable_mis).toBe(true);
    expect(on.multi_item_scoring_delimiter).toBeUndefined();
    expect(on.disable_radix_cache).toBe(true);
    expect(on.chunked_prefill_size).toBe(-1);
    const older = await info(delimited);
    expect(older.multi_item_scoring_delimiter).toBe(DELIMITER);
    expect(older.enable_mis).toBeUndefined();
    expect(older.disable_radix_cache).toBe(true);
  });
});

describe('info and admin routes', () => {
  it('answers health, model info, models, tokenize/detokenize, flush_cache, freeze_gc and metrics', async () => {
    expect((await call(single.url + '/health', 'GET')).status).toBe(200);
    expect((await call(single.url + '/health_generate', 'GET')).status).toBe(200);
    const model = await json(single, 'GET', '/model_info');
    expect(model.value.model_path).toEqual(expect.any(String));
    expect((await json(single, 'GET', '/get_model_info')).value).toEqual(model.value);
    const models = (await json(single, 'GET', '/v1/models')).value as { object: string; data: Array<{ id: string }> };
    expect(models.object).toBe('list');
    expect(models.data[0]?.id).toBe(model.value.model_path);
    const text = 'Hello, Zürich 🙂 厨师';
    const tok = (await json(single, 'POST', '/tokenize', { prompt: text })).value as { tokens: number[]; count: number };
    expect(tok.count).toBe(tok.tokens.length);
    expect(tok.count).toBeGreaterThan(3);
    expect((await json(single, 'POST', '/detokenize', { tokens: tok.tokens })).value.text).toBe(text);
    for (const path of ['/flush_cache', '/freeze_gc']) {
      const r = await call(single.url + path, 'POST');
      expect(r.status, path).toBe(200);
      expect(r.text.length, path).toBeGreaterThan(0);
    }
    const metrics = (await call(single.url + '/metrics', 'GET')).text;
    expect(metrics).toMatch(/^sglang:num_requests_total\{/m);
    const bad = await json(single, 'POST', '/tokenize', { prompt: 42 });
    expect(bad.status).toBe(400);
    expect(bad.value).toMatchObject({ object: 'error', code: 400 });
  });
});

describe('tokenization as SGLang would spend it', () => {
  it('memoises text to ids but charges the modelled tokenizer time for every text request, never for ids', async () => {
    const stats = async (): Promise<number> => (await json(single, 'GET', '/emulator/stats')).value.modelled_tokenize_us as number;
    const body = { query: 'Search query: nurse, night shifts\n', items: ['Job posting\nTitle: Night nurse'], label_token_ids: LABELS };
    const t0 = await stats();
    const first = await json(single, 'POST', '/v1/score', body);
    const t1 = await stats();
    const again = await json(single, 'POST', '/v1/score', body);
    const t2 = await stats();
    expect(again.value.scores).toEqual(first.value.scores);
    const tokens = (first.value.usage as Json).prompt_tokens as number;
    // One text of `tokens` tokens: 100 us per text + 2 us per token, on each request alike.
    expect(t1 - t0).toBeCloseTo(100 + 2 * tokens, 6);
    expect(t2 - t1).toBeCloseTo(t1 - t0, 6);
    await json(single, 'POST', '/v1/score', { query: [1, 2], items: [[3]], label_token_ids: LABELS });
    expect(await stats()).toBe(t2);
  });
});
