import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStep } from '../../bench/loadgen/step.js';
import { HttpScoreTarget } from '../../bench/loadgen/targets/http-score.js';
import { ScriptedTarget, constantSource } from './fakes.js';

/**
 * A server that handles one request at a time and stalls each for 200 ms: offered 10 requests/s
 * against a capacity of 5/s, requests wait behind each other. A closed-loop tool (send, wait,
 * send) would report ~200 ms for every request; an open-loop one must report the growing wait.
 */
describe('latency counts from the scheduled send time', () => {
  let server: Server;
  let url = '';
  let handled = 0;
  let maxConcurrentArrivals = 0;
  let open = 0;

  beforeAll(async () => {
    let chain = Promise.resolve();
    server = createServer((req, res) => {
      open++;
      maxConcurrentArrivals = Math.max(maxConcurrentArrivals, open);
      req.resume();
      req.on('end', () => {
        chain = chain.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                handled++;
                open--;
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(`{"scores":[${Array.from({ length: 10 }, () => '[0.5,0.5]').join(',')}]}`);
                resolve();
              }, 200),
            ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a stalled HTTP server shows queueing delay, not just its 200 ms service time', async () => {
    const target = new HttpScoreTarget({ name: 'stall', url, encoding: 'ids', labelTokenIds: [9693, 2152], connections: 64, apiKey: null });
    try {
      const m = await runStep(target, constantSource(), { rps: 10, burst: null, warmupMs: 0, durationMs: 2000, timeoutMs: 20_000, seed: 5 }, new Set());
      expect(m.scheduled).toBeGreaterThanOrEqual(10);
      expect(m.ok).toBe(m.scheduled);
      expect(m.errors + m.timeouts).toBe(0);
      // Requests went out on schedule, while earlier ones were still stalled.
      expect(maxConcurrentArrivals).toBeGreaterThan(3);
      expect(m.dispatchLag.p99).toBeLessThan(50);
      // Nothing is served in under 200 ms, and the queue builds: the k-th of n requests waits
      // behind k-1 others, so the slowest waits far longer than one service time.
      expect(m.latency.p50 - 200).toBeGreaterThan(-5);
      expect(m.latency.max).toBeGreaterThan(200 * (m.scheduled / 2));
      expect(m.latency.mean).toBeGreaterThan(400);
      expect(handled).toBeGreaterThanOrEqual(m.scheduled);
    } finally {
      await target.close();
    }
  });

  it('a blocked event loop delays sends, and that delay is in the latency', async () => {
    // The 20th send blocks the generator's own thread for 250 ms; everything scheduled meanwhile
    // goes out late. Service time stays ~2 ms, latency must not.
    const target = new ScriptedTarget(2, () => 200, (call) => (call === 20 ? 250 : 0));
    const m = await runStep(target, constantSource(), { rps: 100, burst: null, warmupMs: 0, durationMs: 1500, timeoutMs: 5000, seed: 11 }, new Set());
    expect(m.ok).toBe(m.scheduled);
    expect(m.dispatchLag.max).toBeGreaterThan(200);
    expect(m.latency.max).toBeGreaterThan(200);
    // A dozen or more requests were scheduled inside the stall.
    expect(m.latency.p90).toBeGreaterThan(20);
    // Service time (from the actual send) stays small: only the blocking call itself and a
    // request in flight during the stall can be slow, which p90 of ~150 samples ignores.
    expect(m.service.p90).toBeLessThan(30);
  });
});

describe('outcomes', () => {
  it('counts errors by status and timeouts separately; timeouts count in latency', async () => {
    const target = new ScriptedTarget(5, (call) => (call % 10 === 0 ? 503 : call % 10 === 5 ? 'hang' : 200));
    const m = await runStep(target, constantSource(), { rps: 100, burst: null, warmupMs: 0, durationMs: 1000, timeoutMs: 150, seed: 2 }, new Set());
    expect(m.scheduled).toBeGreaterThan(50);
    expect(m.errors).toBe(Math.floor(m.scheduled / 10));
    expect(m.errorsByStatus['503']).toBe(m.errors);
    expect(m.timeouts).toBe(Math.floor((m.scheduled + 5) / 10));
    expect(m.ok).toBe(m.scheduled - m.errors - m.timeouts);
    expect(m.latency.count).toBe(m.ok + m.timeouts);
    expect(m.latency.max).toBeGreaterThanOrEqual(149);
    expect(m.itemsPerSecond).toBeCloseTo((m.ok * 10) / 1, 5);
  });

  it('records nothing from the warm-up window and counts first-seen items', async () => {
    const target = new ScriptedTarget(1, () => 200);
    const seen = new Set<number>();
    const m = await runStep(target, constantSource(4), { rps: 200, burst: null, warmupMs: 500, durationMs: 500, timeoutMs: 1000, seed: 3 }, seen);
    expect(target.calls).toBeGreaterThan(m.scheduled + 50);
    expect(m.scheduled).toBeGreaterThan(50);
    expect(m.latency.count).toBe(m.scheduled);
    // The four items were all sent during the warm-up, so none is new in the window.
    expect(m.firstSeenItems).toBe(0);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
