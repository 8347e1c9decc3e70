import type { Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';
import { startFakeSglang } from '../support/fake-sglang.js';

/** API keys like SGLang's, and the start-up tokenizer check that keeps text semantics exact. */
const procs: Proc[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  for (const s of servers) s.close();
});

describe('API keys', () => {
  it('guards every route but /health and /metrics, and sends its own key upstream', async () => {
    const emulator = await startEmulator(['--api-key', 'backend-secret']);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--api-key', 'client-secret', '--backend-api-key', 'backend-secret', '--admin-api-key', 'admin-secret']);
    procs.push(scorecar);
    const body = { query: [1, 2], items: [[3]], label_token_ids: [9693] };
    expect((await postJson(scorecar.url, '/v1/score', body)).status).toBe(401);
    expect((await postJson(scorecar.url, '/v1/score', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await postJson(scorecar.url, '/v1/score', body, { authorization: 'bearer client-secret' })).status).toBe(200);
    // Passthrough swaps the client's key for the backend's.
    expect((await call(scorecar.url + '/v1/models', 'GET', undefined, { authorization: 'Bearer client-secret' })).status).toBe(200);
    expect((await call(scorecar.url + '/v1/models', 'GET')).status).toBe(401);
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(200);
    expect((await call(scorecar.url + '/metrics', 'GET')).status).toBe(200);
    // Admin routes need the admin key.
    expect((await call(scorecar.url + '/scorecar/stats', 'GET', undefined, { authorization: 'Bearer client-secret' })).status).toBe(401);
    expect((await call(scorecar.url + '/scorecar/stats', 'GET', undefined, { authorization: 'Bearer admin-secret' })).status).toBe(200);
  });
});

/** A fake SGLang whose tokenizer disagrees with scorecar's (another model family). */
async function fakeBackend(): Promise<{ url: string; scoreBodies: string[] }> {
  const scoreBodies: string[] = [];
  const { url, server } = await startFakeSglang({
    modelPath: 'other/model',
    version: 'fake',
    tokens: [1, 2, 3],
    score: (body) => {
      scoreBodies.push(body);
      const b = JSON.parse(body) as { items: unknown[]; label_token_ids: number[] };
      return { body: { scores: b.items.map(() => b.label_token_ids.map(() => 0.25)), model: 'm', usage: null, object: 'scoring' } };
    },
  });
  servers.push(server);
  return { url, scoreBodies };
}

describe('tokenizer check at start', () => {
  it('forwards text unchanged when the backend tokenizes differently, and still sends ids as ids', async () => {
    const backend = await fakeBackend();
    const scorecar = await startScorecar([backend.url]);
    procs.push(scorecar);
    expect(scorecar.output()).toMatch(/tokenizer mismatch \(text is forwarded unchanged\)/);
    const textBody = JSON.stringify({ query: 'q ', items: ['a', 'b'], label_token_ids: [9693], model: 'x' });
    const r = await call(scorecar.url + '/v1/score', 'POST', textBody);
    expect(r.status).toBe(200);
    expect(r.headers['x-scorecar-relayed']).toBe('tokenizer-mismatch');
    expect(r.headers['x-scorecar-cache-hits']).toBe('0');
    expect(backend.scoreBodies.at(-1)).toBe(textBody);
    const ids = await postJson(scorecar.url, '/v1/score', { query: [5], items: [[6], [7]], label_token_ids: [9693] });
    expect(ids.status).toBe(200);
    expect(JSON.parse(backend.scoreBodies.at(-1) as string)).toMatchObject({ query: [5], items: [[6], [7]] });
  });
});
