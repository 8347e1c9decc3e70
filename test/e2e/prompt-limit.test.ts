import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, postJson, startEmulator, startScorecar } from './harness.js';

/**
 * One prompt over the backend's limit fails only its own request, with SGLang's message, even
 * when it would have shared a backend call with coalesced neighbours; a request whose prompts
 * each fit is split and answered 200 however large its whole (a deliberate difference).
 */
let emulator: Proc;
let scorecar: Proc;

beforeAll(async () => {
  // context 64: max_req_input_len = min(63, 399999) - 5 = 58.
  emulator = await startEmulator(['--context-length', '64']);
  scorecar = await startScorecar([emulator.url], ['--coalesce-window-ms', '50', '--score-cache', 'off']);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
});

const ids = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('prompt length against the backend limits', () => {
  it('fails the over-long request alone; its coalesced neighbours are answered', async () => {
    const query = ids(10, 100);
    const [long, ...neighbours] = await Promise.all([
      postJson(scorecar.url, '/v1/score', { query, items: [ids(70, 500)], label_token_ids: [9693] }),
      postJson(scorecar.url, '/v1/score', { query, items: [ids(5, 600)], label_token_ids: [9693] }),
      postJson(scorecar.url, '/v1/score', { query, items: [ids(6, 700), ids(3, 800)], label_token_ids: [9693] }),
    ]);
    expect(long.status).toBe(400);
    expect(JSON.parse(long.text)).toMatchObject({
      object: 'error',
      code: 400,
      message: "The input (80 tokens) is longer than the model's context length (64 tokens).",
    });
    for (const r of neighbours) expect(r.status, r.text).toBe(200);
    // The emulator agrees on the long one.
    const direct = await postJson(emulator.url, '/v1/score', { query, items: [ids(70, 500)], label_token_ids: [9693] });
    expect(direct.status).toBe(400);
  });

  it('answers the max_req_input_len message between the two limits', async () => {
    const r = await postJson(scorecar.url, '/v1/score', { query: ids(10, 100), items: [ids(50, 500)], label_token_ids: [9693] });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).message).toBe('Input length (60 tokens) exceeds the maximum allowed length (58 tokens). Use a shorter input or enable --allow-auto-truncate.');
  });

  it('splits a request whose whole is over the limit but whose prompts each fit, and answers 200', async () => {
    const r = await postJson(scorecar.url, '/v1/score', { query: ids(10, 100), items: Array.from({ length: 20 }, (_, k) => ids(30, 1000 + 40 * k)), label_token_ids: [9693] });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text).scores).toHaveLength(20);
  });
});
