import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../cache/redis-server.js';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';

/**
 * A real redis-server (its own, on a free port) serves the score cache of two scorecar
 * processes: one computes, the other hits; one request costs one round trip, counted by Redis
 * itself; TTL expiry; and killing Redis costs hits, not requests.
 */
let redis: RedisServer;
let emulator: Proc;
let a: Proc;
let b: Proc;
let admin: Redis;

const query = '<|im_start|>user\nSearch query: backend jobs in Berlin\n';
const items = ['Job posting\nTitle: Go backend engineer', 'Job posting\nTitle: Barista', 'Job posting\nTitle: SRE'];
const body = { query, items, label_token_ids: [9693, 2152], apply_softmax: true };

beforeAll(async () => {
  redis = await RedisServer.start();
  emulator = await startEmulator();
  const args = ['--score-cache', redis.url.replace('redis://', 'valkey://'), '--score-cache-ttl-s', '2', '--coalesce-window-ms', '0', '--cache-key-secret', 'shared-by-both-replicas-0123456789'];
  a = await startScorecar([emulator.url], args);
  b = await startScorecar([emulator.url], args);
  admin = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
});

afterAll(async () => {
  admin?.disconnect();
  await a?.stop();
  await b?.stop();
  await emulator?.stop();
  await redis?.stop();
});

/** The emulator's own counts: /v1/score calls received and prompt tokens prefilled. */
async function backendWork(): Promise<{ calls: number; tokens: number }> {
  const s = JSON.parse((await call(emulator.url + '/emulator/stats', 'GET')).text) as {
    requests_by_path: Record<string, number>;
    scheduler: { tokens: number };
  };
  return { calls: s.requests_by_path['/v1/score'] ?? 0, tokens: s.scheduler.tokens };
}

async function commandCalls(): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) out[m[1] as string] = Number(m[2]);
  return out;
}

describe('score cache on Redis/Valkey, shared by two scorecar replicas', () => {
  it('computes through one replica and hits through the other, with identical scores', async () => {
    const first = await postJson(a.url, '/v1/score', body);
    expect(first.status).toBe(200);
    expect(first.headers['x-scorecar-cache-hits']).toBe('0');
    const idle = await backendWork();
    const second = await postJson(b.url, '/v1/score', body);
    expect(second.status).toBe(200);
    expect(second.headers['x-scorecar-cache-hits']).toBe('3');
    expect(JSON.parse(second.text).scores).toEqual(JSON.parse(first.text).scores);
    expect(await backendWork()).toEqual(idle); // hits never reach the GPU
    // Partial hits: only the new item is scored, the answer is merged in item order.
    const fresh = 'Job posting\nTitle: Data engineer';
    const mixed = { ...body, items: [items[2], fresh, items[0]] };
    const direct = await postJson(emulator.url, '/v1/score', mixed);
    const before = await backendWork();
    const viaB = await postJson(b.url, '/v1/score', mixed);
    const during = await backendWork();
    expect(viaB.headers['x-scorecar-cache-hits']).toBe('2');
    expect(JSON.parse(viaB.text).scores).toEqual(JSON.parse(direct.text).scores);
    // The GPU prefilled exactly what scoring the new item alone costs.
    await postJson(emulator.url, '/v1/score', { ...body, items: [fresh] });
    const alone = await backendWork();
    expect(during.calls - before.calls).toBe(1);
    expect(during.tokens - before.tokens).toBe(alone.tokens - during.tokens);
  });

  it('costs one round trip per request for lookups and one for stores, never one per item', async () => {
    const manyItems = Array.from({ length: 25 }, (_, i) => `Job posting\nTitle: Role number ${i}`);
    const before = await commandCalls();
    const cold = await postJson(a.url, '/v1/score', { ...body, items: manyItems });
    const warm = await postJson(b.url, '/v1/score', { ...body, items: manyItems });
    expect(cold.headers['x-scorecar-cache-hits']).toBe('0');
    expect(warm.headers['x-scorecar-cache-hits']).toBe('25');
    // Stores are fire-and-forget; give the one in flight a moment to land before counting.
    await new Promise((r) => setTimeout(r, 200));
    const after = await commandCalls();
    const delta = (c: string): number => (after[c] ?? 0) - (before[c] ?? 0);
    expect(delta('mget')).toBe(2); // one lookup per request
    expect(delta('evalsha') + delta('eval')).toBe(1); // one store, for the cold request's 25 rows
    expect(delta('get')).toBe(0);
  });

  it('expires entries after the TTL', async () => {
    const ttlBody = { ...body, items: ['Job posting\nTitle: Short-lived role'] };
    await postJson(a.url, '/v1/score', ttlBody);
    expect((await postJson(b.url, '/v1/score', ttlBody)).headers['x-scorecar-cache-hits']).toBe('1');
    await new Promise((r) => setTimeout(r, 2300));
    expect((await postJson(b.url, '/v1/score', ttlBody)).headers['x-scorecar-cache-hits']).toBe('0');
  });

  it('loses hits, never requests, when Redis dies mid-run, and gets them back after', async () => {
    const runBody = { ...body, items: ['Job posting\nTitle: Resilient role'] };
    await postJson(a.url, '/v1/score', runBody);
    // Redis is killed while requests are in flight through both replicas.
    const inFlight: Promise<{ status: number }>[] = [];
    let crashed: Promise<void> | null = null;
    for (let i = 0; i < 30; i++) {
      inFlight.push(postJson(i % 2 === 0 ? a.url : b.url, '/v1/score', runBody));
      if (i === 10) crashed = redis.crash();
      await new Promise((r) => setTimeout(r, 5));
    }
    await crashed;
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual(new Array(30).fill(200));
    // Redis gone: every request is still answered, with no hits.
    const statuses: number[] = [];
    const hits: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await postJson(i % 2 === 0 ? a.url : b.url, '/v1/score', runBody);
      statuses.push(r.status);
      hits.push(String(r.headers['x-scorecar-cache-hits']));
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(hits.every((h) => h === '0')).toBe(true);
    await redis.restart();
    await admin.connect().catch(() => undefined);
    const deadline = Date.now() + 10_000;
    let hit = '0';
    while (hit !== '1' && Date.now() < deadline) {
      await postJson(a.url, '/v1/score', runBody);
      await new Promise((r) => setTimeout(r, 250));
      hit = String((await postJson(b.url, '/v1/score', runBody)).headers['x-scorecar-cache-hits']);
    }
    expect(hit).toBe('1');
  }, 60_000);
});
