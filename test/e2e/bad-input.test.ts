import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, type Reply, call, postJson, startEmulator, startScorecar } from './harness.js';

/**
 * Bad input gets SGLang's 400 envelope from scorecar, the same status the emulator (SGLang's
 * stand-in) gives, and scorecar keeps serving afterwards.
 */
let emulator: Proc;
let scorecar: Proc;

beforeAll(async () => {
  emulator = await startEmulator();
  scorecar = await startScorecar([emulator.url], ['--max-items', '50', '--max-body-bytes', '65536']);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
});

const GOOD = { query: 'python jobs\n', items: ['Python engineer', 'Chef'], label_token_ids: [9693, 2152] };

function envelope(r: Reply): { object: string; message: string; type: string; param: null; code: number } {
  return JSON.parse(r.text) as { object: string; message: string; type: string; param: null; code: number };
}

async function expect400(body: string | Buffer, type: string, headers: Record<string, string> = {}, sameAsEmulator = true): Promise<string> {
  const via = await call(scorecar.url + '/v1/score', 'POST', body, { 'content-type': 'application/json', ...headers });
  expect(via.status, via.text).toBe(400);
  const e = envelope(via);
  expect(e.object).toBe('error');
  expect(e.code).toBe(400);
  expect(e.param).toBeNull();
  expect(e.type).toBe(type);
  if (sameAsEmulator) {
    const direct = await call(emulator.url + '/v1/score', 'POST', body, { 'content-type': 'application/json', ...headers });
    expect(direct.status).toBe(400);
    expect(envelope(direct).type).toBe(type);
  }
  // Still serving.
  expect((await postJson(scorecar.url, '/v1/score', GOOD)).status).toBe(200);
  return e.message;
}

describe('bad input on /v1/score', () => {
  it('malformed JSON', async () => {
    expect(await expect400('{"query": "a", "items": [', 'Bad Request')).toMatch(/json_invalid|JSON decode error/);
    await expect400('not json at all', 'Bad Request');
    await expect400(Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'Bad Request'); // invalid UTF-8
  });

  it('a wrong content type', async () => {
    const msg = await expect400(JSON.stringify(GOOD), 'Bad Request', { 'content-type': 'text/plain' });
    expect(msg).toMatch(/Unsupported Media Type/);
  });

  it('wrong field types', async () => {
    expect(await expect400(JSON.stringify({ ...GOOD, query: 5 }), 'Bad Request')).toMatch(/query/);
    await expect400(JSON.stringify({ ...GOOD, items: [1, 2, 3] }), 'Bad Request');
    await expect400(JSON.stringify({ ...GOOD, label_token_ids: 'yes' }), 'Bad Request');
    await expect400(JSON.stringify({ ...GOOD, apply_softmax: 'maybe' }), 'Bad Request');
    await expect400(JSON.stringify({ ...GOOD, model: 7 }), 'Bad Request');
    await expect400(JSON.stringify([GOOD]), 'Bad Request');
  });

  it('mixed text and ids', async () => {
    const msg = await expect400(JSON.stringify({ ...GOOD, query: [1, 2, 3] }), 'BadRequestError');
    expect(msg).toBe('Invalid combination of query/items types for score_request.');
    await expect400(JSON.stringify({ ...GOOD, items: ['a', [1]] }), 'Bad Request');
  });

  it('a missing items field', async () => {
    const { items: _items, ...noItems } = GOOD;
    expect(await expect400(JSON.stringify(noItems), 'BadRequestError')).toBe('items must be provided');
  });

  it('an out-of-vocabulary label id', async () => {
    const msg = await expect400(JSON.stringify({ ...GOOD, label_token_ids: [9693, 151643] }), 'BadRequestError');
    expect(msg).toBe('Token ID 151643 is out of vocabulary (vocab size: 151643)');
  });

  it('a missing label list', async () => {
    const { label_token_ids: _l, ...noLabels } = GOOD;
    expect(await expect400(JSON.stringify(noLabels), 'BadRequestError')).toMatch(/label_token_ids is required/);
  });

  it('an empty items list gets 200 with no scores, as SGLang does', async () => {
    for (const base of [scorecar.url, emulator.url]) {
      const r = await postJson(base, '/v1/score', { ...GOOD, items: [] });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toMatchObject({ scores: [], object: 'scoring', usage: { prompt_tokens: 0 } });
    }
  });

  it('more items than the configured limit', async () => {
    const items = Array.from({ length: 51 }, (_, i) => `item ${i}`);
    const msg = await expect400(JSON.stringify({ ...GOOD, items }), 'BadRequestError', {}, false);
    // Refused while counting, at item 51: the rest of the body is not scanned.
    expect(msg).toBe('Too many items: more than 50 (scorecar --max-items)');
    // A body the byte scanner hands to JSON.parse (a lax form first) is counted before parsing.
    const lax = await expect400(JSON.stringify({ apply_softmax: 1, ...GOOD, items }), 'BadRequestError', {}, false);
    expect(lax).toBe('Too many items: more than 50 (scorecar --max-items)');
  });

  it('a body over the configured size limit', async () => {
    const big = JSON.stringify({ ...GOOD, items: ['x'.repeat(70_000)] });
    const via = await call(scorecar.url + '/v1/score', 'POST', big);
    expect(via.status).toBe(400);
    expect(envelope(via)).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400, message: expect.stringMatching(/exceeds 65536 bytes/) });
    expect((await postJson(scorecar.url, '/v1/score', GOOD)).status).toBe(200);
  });

  it('lax pydantic forms are accepted like SGLang accepts them', async () => {
    const lax = { ...GOOD, label_token_ids: ['9693', 2152.0], apply_softmax: 1, item_first: 'false' };
    const direct = await postJson(emulator.url, '/v1/score', lax);
    const via = await postJson(scorecar.url, '/v1/score', lax);
    expect(direct.status).toBe(200);
    expect(via.status).toBe(200);
    expect(JSON.parse(via.text).scores).toEqual(JSON.parse(direct.text).scores);
  });
});
