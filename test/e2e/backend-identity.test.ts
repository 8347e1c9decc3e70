import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../cache/redis-server.js';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';

/**
 * Backend identity is re-read on every reconnect and periodically; entries keyed by an old
 * identity are never served. An emulator restarted with a new weight version (which models new
 * weights: other scores) must get its own scores through scorecar, not the cached old ones.
 */
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

const body = { query: [1, 2, 3], items: [[10, 11], [12]], label_token_ids: [9693, 2152] };

async function weightVersion(scorecarUrl: string): Promise<string | null> {
  const stats = JSON.parse((await call(scorecarUrl + '/scorecar/stats', 'GET')).text) as { backends: Array<{ healthy: boolean; info: { weightVersion: string } | null }> };
  const b = stats.backends[0];
  return b?.healthy && b.info ? b.info.weightVersion : null;
}

describe('backend identity', () => {
  it('an emulator restarted with a new weight version stops serving old cached scores', async () => {
    const port = await freePort();
    let emulator = await startEmulator(['--port', String(port), '--weight-version', 'v1']);
    // The harness passes --port 0 first; the later --port wins.
    expect(emulator.url).toBe(`http://127.0.0.1:${port}`);
    procs.push(emulator);
    const scorecar = await startScorecar([emulator.url], ['--health-interval-ms', '100', '--identity-interval-ms', '600000', '--coalesce-window-ms', '0']);
    procs.push(scorecar);
    const direct1 = JSON.parse((await postJson(emulator.url, '/v1/score', body)).text) as { scores: number[][] };
    const first = await postJson(scorecar.url, '/v1/score', body);
    expect(first.headers['x-scorecar-cache-hits']).toBe('0');
    const cached = await postJson(scorecar.url, '/v1/score', body);
    expect(cached.headers['x-scorecar-cache-hits']).toBe('2');
    expect(JSON.parse(cached.text).scores).toEqual(direct1.scores);

    await emulator.stop();
    emulator = await startEmulator(['--port', String(port), '--weight-version', 'v2']);
    procs.push(emulator);
    const direct2 = JSON.parse((await postJson(emulator.url, '/v1/score', body)).text) as { scores: number[][] };
    expect(direct2.scores).not.toEqual(direct1.scores);
    const deadline = Date.now() + 15_000;
    while ((await weightVersion(scorecar.url)) !== 'v2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await weightVersion(scorecar.url)).toBe('v2');
    expect(scorecar.output()).toMatch(/identity changed .*weight_version v1 -> v2/);
    const after = await postJson(scorecar.url, '/v1/score', body);
    expect(after.status).toBe(200);
    expect(after.headers['x-scorecar-cache-hits']).toBe('0');
    expect(JSON.parse(after.text).scores).toEqual(direct2.scores);
    const again = await postJson(scorecar.url, '/v1/score', body);
    expect(again.headers['x-scorecar-cache-hits']).toBe('2');
    expect(JSON.parse(again.text).scores).toEqual(direct2.scores);
  });
});
