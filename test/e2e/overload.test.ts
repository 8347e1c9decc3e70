import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureCapacity, runOpenLoop } from '../../bench/loadgen/overload.js';
import { type Proc, REJECTION_MARK, call, rssOf, startEmulator, startScorecar } from './harness.js';

/**
 * 2x the emulator's capacity for 20 s through scorecar with its default limits. Asserted here
 * (not timing-dependent): every request is answered exactly once, and the client's counts by
 * status equal scorecar's own counters; shed work gets 429 with Retry-After; RSS stays bounded
 * (growth under 300 MB); nothing fails but by shedding. The goodput latency figures belong to
 * `npm run bench:overload` (bench/results/overload.md), not to this test.
 */
let emulator: Proc;
let scorecar: Proc;
const MB = 1024 * 1024;
const BODY = Buffer.from(
  JSON.stringify({
    query: Array.from({ length: 30 }, (_, i) => 1000 + i),
    items: Array.from({ length: 8 }, (_, k) => Array.from({ length: 20 }, (_, i) => 2000 + 20 * k + i)),
    label_token_ids: [9693, 2152],
  }),
);

beforeAll(async () => {
  // A token-bound simulated GPU: 20 us per prompt token, 400 tokens a request (~125 requests/s).
  emulator = await startEmulator(['--cost', 'perTokenUs=20', '--cost', 'stepLaunchUs=0', '--cost', 'requestOverheadUs=0']);
  scorecar = await startScorecar([emulator.url], ['--score-cache', 'off']);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
  expect(scorecar?.output() ?? '').not.toContain(REJECTION_MARK);
});

function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('overload at 2x capacity', () => {
  it('sheds with 429 + Retry-After, answers every request exactly once, and keeps RSS bounded', async () => {
    const capacity = await measureCapacity(emulator.url, '/v1/score', BODY, 32, 3);
    expect(capacity).toBeGreaterThan(20);
    const pid = scorecar.child.pid as number;
    const before = rssOf(pid);
    const pageBefore = (await call(scorecar.url + '/metrics', 'GET')).text;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 200);
    const r = await runOpenLoop({ url: scorecar.url, path: '/v1/score', body: BODY, rps: 2 * capacity, seconds: 20, timeoutMs: 30_000, connections: 512 });
    clearInterval(sampler);
    const pageAfter = (await call(scorecar.url + '/metrics', 'GET')).text;

    expect(r.doubleSettled).toBe(0);
    expect(r.timeouts + r.transportErrors).toBe(0);
    const ok = r.byStatus[200] ?? 0;
    const shed = r.byStatus[429] ?? 0;
    expect(ok + shed).toBe(r.sent); // nothing but answers and shedding
    expect(shed).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    expect(r.shedWithoutRetryAfter).toBe(0);
    // scorecar counted the same answers.
    for (const code of [200, 429]) {
      const series = `scorecar_requests_total{route="/v1/score",code="${code}"}`;
      expect(sample(pageAfter, series) - sample(pageBefore, series), series).toBe(r.byStatus[code] ?? 0);
    }
    expect(peak - before).toBeLessThan(300 * MB);
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(200);
  }, 120_000);
});
