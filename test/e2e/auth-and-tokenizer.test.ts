import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';

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
function fakeBackend(): Promise<{ url: string; scoreBodies: string[] }> {
  const scoreBodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (v: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.url === '/health') return void res.writeHead(200).end();
      if (req.url === '/server_info') return json({ model_path: 'other/model', max_req_input_len: 4000, context_length: 4096, enable_mis: false, version: 'fake' });
      if (req.url === '/model_info') return json({ model_path: 'other/model', weight_version: 'default' });
      if (req.url === '/tokenize') return json({ tokens: [1, 2, 3], count: 3, max_model_len: 4096 });
      // scorecar's endpoint-line probe (a null body, once per backend version): a validation 400.
      if (req.url === '/v1/score' && body === 'null') return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"detail":"probe"}');
      if (req.url === '/v1/score') {
        scoreBodies.push(body);
        const b = JSON.parse(body) as { items: unknown[]; label_token_ids: number[] };
        return json({ scores: b.items.map(() => b.label_token_ids.map(() => 0.25)), model: 'm', usage: null, object: 'scoring' });
      }
      res.writeHead(404).end('{"detail":"Not Found"}');
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, scoreBodies })));
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
