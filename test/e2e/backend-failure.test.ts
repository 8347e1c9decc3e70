import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, spawnCli, startEmulator, startScorecar } from './harness.js';

/** Backend down or failing: 503 with Retry-After, 502 on resets and malformed replies, recovery. */
const GOOD = { query: [1, 2, 3], items: [[4, 5], [6]], label_token_ids: [9693, 2152] };
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('backend down or failing', () => {
  it('answers 503 with Retry-After while no backend is healthy, and recovers when one comes up', async () => {
    const port = await freePort();
    const backendUrl = `http://127.0.0.1:${port}`;
    const scorecar = await startScorecar([backendUrl], ['--health-interval-ms', '100']);
    procs.push(scorecar);
    const down = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    expect(JSON.parse(down.text)).toMatchObject({ object: 'error', code: 503 });
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(503);
    // Passthrough routes get the same answer.
    expect((await call(scorecar.url + '/v1/models', 'GET')).status).toBe(503);

    const onPort = await spawnCli(['emulate', '--port', String(port)], /listening on (http:\/\/\S+)/);
    procs.push(onPort);
    await waitFor(async () => (await call(scorecar.url + '/health', 'GET')).status === 200);
    const up = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(up.status).toBe(200);

    // The backend dies again: 503 (after the breaker trips), then recovery again.
    await onPort.stop();
    await waitFor(async () => (await postJson(scorecar.url, '/v1/score', GOOD)).status === 503);
    const again = await spawnCli(['emulate', '--port', String(port)], /listening on (http:\/\/\S+)/);
    procs.push(again);
    await waitFor(async () => (await postJson(scorecar.url, '/v1/score', GOOD)).status === 200);
  }, 120_000);

  it('answers 502 on an upstream reset or a malformed reply, relays upstream 500s, and keeps serving', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url]);
    procs.push(scorecar);
    const faults = (f: object): Promise<unknown> => postJson(emulator.url, '/emulator/faults', f);

    await faults({ dropRate: 1 });
    const reset = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(reset.status).toBe(502);
    expect(JSON.parse(reset.text)).toMatchObject({ object: 'error', code: 502 });

    await faults({ dropRate: 0, malformedRate: 1 });
    const malformed = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(malformed.status).toBe(502);
    expect(JSON.parse(malformed.text).message).toMatch(/malformed|not a JSON|score/);

    await faults({ malformedRate: 0, errorRate: 1 });
    const direct = await postJson(emulator.url, '/v1/score', GOOD);
    const relayed = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(direct.status).toBe(500);
    expect(relayed.status).toBe(500);
    expect(relayed.text).toBe(direct.text);

    await faults({ errorRate: 0 });
    const ok = await postJson(scorecar.url, '/v1/score', GOOD);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).scores).toEqual(JSON.parse((await postJson(emulator.url, '/v1/score', GOOD)).text).scores);
  }, 120_000);

  it('fails over to another healthy backend when one cannot be reached', async () => {
    const a = await startEmulator();
    const b = await startEmulator();
    procs.push(a, b);
    const scorecar = await startScorecar([a.url, b.url], ['--health-interval-ms', '60000']);
    procs.push(scorecar);
    await a.stop();
    // The health loop has not noticed yet; the call to a fails to connect and moves to b.
    for (let i = 0; i < 5; i++) expect((await postJson(scorecar.url, '/v1/score', GOOD)).status).toBe(200);
  }, 120_000);
});
