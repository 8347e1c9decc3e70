import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRealSglang } from '../../support/real-sglang.js';
import { type Proc, startScorecar } from '../harness.js';
import { NO, type Raw, TOLERANCE_CEILING, YES, expectSameAnswer, ids, postScore, send } from './common.js';
import { type IdGuard, startIdGuard } from './id-guard.js';

/** The tiny Qwen3's embedding table (config.json vocab_size), the range input ids must fall in. */
const VOCAB_SIZE = 151936;

/**
 * Routes scorecar passes through to the real SGLang server answer as SGLang does, scorecar's
 * tokenizer check finds SGLang's tokenizer to be its own, and input ids outside the embedding
 * table are refused by scorecar before they reach the server.
 *
 * Volatile fields (request ids, timestamps, latencies) are found, not listed: each route is
 * called directly, then through scorecar, then directly again; a field that differs between the
 * two direct answers is volatile and only its presence and type are compared. Every other field
 * (paths into the JSON) must be identical through scorecar.
 */
type Flat = Map<string, string>;

function flatten(value: unknown, path = '', out: Flat = new Map()): Flat {
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.set(path, JSON.stringify(value));
    for (const [k, v] of entries) flatten(v, `${path}/${k}`, out);
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}

function typeOf(json: string | undefined): string {
  const v: unknown = json === undefined ? undefined : JSON.parse(json);
  return v === null ? 'null' : typeof v;
}

async function expectSamePassthrough(sglang: string, scorecar: string, method: string, path: string, body?: unknown): Promise<string[]> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' };
  const d1 = await send(sglang + path, method, payload, headers);
  const v = await send(scorecar + path, method, payload, headers);
  const d2 = await send(sglang + path, method, payload, headers);
  expect(d1.status, `${path}: ${d1.text.slice(0, 200)}`).toBe(200);
  expect(v.status, `${path} via scorecar: ${v.text.slice(0, 200)}`).toBe(d2.status);
  expect(v.contentType).toBe(d2.contentType);
  const [a, b, c] = [d1, v, d2].map((r: Raw) => flatten(JSON.parse(r.text) as unknown));
  const volatile = [...(a as Flat).keys()].filter((k) => a?.get(k) !== c?.get(k));
  expect([...(b as Flat).keys()], `${path}: the same fields in the same order`).toEqual([...(c as Flat).keys()]);
  for (const [k, want] of c as Flat) {
    if (volatile.includes(k)) expect(typeOf(b?.get(k)), `${path} ${k} (volatile)`).toBe(typeOf(want));
    else expect(b?.get(k), `${path} ${k}`).toBe(want);
  }
  return volatile;
}

describeRealSglang('scorecar in front of real SGLang: passthrough, tokenizer check, input id range', (sglang) => {
  let scorecar: Proc;
  /** The id-range tests' scorecar talks to the server through a guard that never forwards bad ids. */
  let guard: IdGuard;
  let guarded: Proc;
  beforeAll(async () => {
    scorecar = await startScorecar([sglang]);
    guard = await startIdGuard(sglang, VOCAB_SIZE);
    // SGLang 0.5.23's /model_info has no vocab_size: the operator states the embedding rows.
    guarded = await startScorecar([guard.url], ['--input-vocab', String(VOCAB_SIZE)]);
  });
  afterAll(async () => {
    await scorecar?.stop();
    await guarded?.stop();
    await guard?.close();
  });

  it('GET /v1/models through scorecar equals direct', async () => {
    await expectSamePassthrough(sglang, scorecar.url, 'GET', '/v1/models');
  });

  it('GET /server_info through scorecar equals direct', async () => {
    await expectSamePassthrough(sglang, scorecar.url, 'GET', '/server_info');
  });

  it('POST /tokenize through scorecar equals direct', async () => {
    await expectSamePassthrough(sglang, scorecar.url, 'POST', '/tokenize', { prompt: '<|im_start|>user\nQuery: remote python jobs 🙂 Zürich\n' });
  });

  it.each([
    ['ids, no new tokens', { input_ids: ids(8, 11), sampling_params: { max_new_tokens: 0 } }],
    ['label logprobs', { input_ids: ids(8, 12), sampling_params: { max_new_tokens: 0 }, return_logprob: true, logprob_start_len: -1, token_ids_logprob: [YES, NO] }],
    ['greedy text', { text: '<|im_start|>user\nhello', sampling_params: { max_new_tokens: 4, temperature: 0 } }],
  ])('POST /generate (%s) through scorecar equals direct, modulo request id and timings', async (_name, body) => {
    // Warm SGLang's radix cache first, so cached_tokens is the same on every call compared.
    await send(sglang + '/generate', 'POST', JSON.stringify(body), { 'content-type': 'application/json' });
    const volatile = await expectSamePassthrough(sglang, scorecar.url, 'POST', '/generate', body);
    for (const k of volatile) expect(k).toMatch(/^\/meta_info\/(id|e2e_latency|response_sent_to_client_ts|.*_ts|.*latency.*)$/);
  });

  it("scorecar's tokenizer check says `match` (admin stats, metrics and its log)", async () => {
    const stats = JSON.parse((await send(scorecar.url + '/scorecar/stats', 'GET')).text) as { backends: Array<{ url: string; tokenizer: string; info: { version: string; emulator: boolean } }> };
    expect(stats.backends).toHaveLength(1);
    expect(stats.backends[0]).toMatchObject({ url: sglang, tokenizer: 'match', info: { version: '0.5.23', emulator: false } });
    const metrics = (await send(scorecar.url + '/metrics', 'GET')).text;
    expect(metrics).toContain(`scorecar_backend_tokenizer_match{backend="${sglang}"} 1`);
    expect(scorecar.output()).toMatch(/tokenizer match/);
  });

  it('token ids just inside the embedding table (and special tokens) are scored as SGLang scores them', async () => {
    const body = { query: [151644, 872, 198, 151935], items: [[151645, 0, 151935], [151643]], label_token_ids: [YES, NO], apply_softmax: true };
    expectSameAnswer(await postScore(guarded.url, body), await postScore(sglang, body), TOLERANCE_CEILING, 'ids at the table edge');
    expect(guard.blocked).toEqual([]);
  });

  it('without --input-vocab the bound is len(tokenizer) (151,669: SGLang 0.5.23 reports no vocab_size), special tokens included', async () => {
    const inside = { query: [151644, 872, 198], items: [[151668], [151645, 0]], label_token_ids: [YES, NO], apply_softmax: true };
    expectSameAnswer(await postScore(scorecar.url, inside), await postScore(sglang, inside), TOLERANCE_CEILING, 'ids below len(tokenizer)');
    const r = await postScore(scorecar.url, { query: [151644, 872], items: [[151669]], label_token_ids: [YES, NO] });
    expect(r.status, r.text).toBe(400);
    expect(r.text).toContain('151669');
  });

  // Never sent to the real server: an id outside its embedding table can kill it (it did, in
  // this suite's first run, before the guard). scorecar here talks to SGLang through the guard.
  it.each([
    ['query id = vocab size (151,936)', { query: [1, 2, 151936], items: [[3, 4]], label_token_ids: [YES, NO] }, '151936'],
    ['item id far out of range', { query: [1, 2], items: [[3, 4], [5, 1000000]], label_token_ids: [YES, NO] }, '1000000'],
    ['negative query id', { query: [1, -1], items: [[3, 4]], label_token_ids: [YES, NO] }, '-1'],
    ['negative item id', { query: [1, 2], items: [[-7]], label_token_ids: [YES, NO] }, '-7'],
  ])('%s: scorecar refuses it with a 400 in SGLang envelope, and nothing reaches the server', async (_name, body, id) => {
    const before = await backendCalls(guarded.url);
    const r = await postScore(guarded.url, body);
    expect(r.status, r.text).toBe(400);
    expect(r.contentType).toBe('application/json');
    const err = JSON.parse(r.text) as Record<string, unknown>;
    expect(Object.keys(err)).toEqual(['object', 'message', 'type', 'param', 'code']);
    expect(err).toMatchObject({ object: 'error', type: 'BadRequestError', param: null, code: 400 });
    expect(String(err.message)).toContain(id);
    expect(guard.blocked, 'bodies with out-of-range ids that scorecar sent towards the server').toEqual([]);
    expect(await backendCalls(guarded.url)).toBe(before);
    expect((await send(sglang + '/health', 'GET')).status).toBe(200);
  });
});

/** Backend scoring calls scorecar has made (its backend-stage histogram's count). */
async function backendCalls(url: string): Promise<number> {
  const m = /^scorecar_stage_seconds_count\{stage="backend"\} (\d+)$/m.exec((await send(url + '/metrics', 'GET')).text);
  return m ? Number(m[1]) : 0;
}
