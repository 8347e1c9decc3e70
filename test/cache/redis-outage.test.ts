import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES, type ScoreCache } from '../../src/cache/score-cache.js';
import { createScoreCache } from '../../src/cache/create-score-cache.js';
import { hashedKey, packKeys, scoreRow, storeAll } from './keys.js';
import { RedisServer, freePort } from './redis-server.js';

/**
 * A cache outage costs hits, never requests: with Redis stuck, killed or never there, lookups
 * resolve all-miss within the lookup timeout, stores resolve quietly, nothing throws or goes
 * unhandled, and hits come back by themselves once Redis does.
 */
const LOOKUP_TIMEOUT_MS = 25;
const STORE_TIMEOUT_MS = 50;
/** Timer and scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 200;

let server: RedisServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await RedisServer.start();
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server?.stop();
});

function newCache(url: string, logs: string[]): ScoreCache {
  return createScoreCache(url, {
    ttlSeconds: 900,
    maxBytes: 1 << 20,
    lookupTimeoutMs: LOOKUP_TIMEOUT_MS,
    storeTimeoutMs: STORE_TIMEOUT_MS,
    reconnectMaxDelayMs: 200,
    log: (m) => logs.push(m),
  });
}

const ids = Array.from({ length: 40 }, (_, i) => i);
const keys = packKeys(ids.map(hashedKey));
const rows = ids.map(scoreRow);

/** One timed lookup of all 40 keys. */
async function timedLookup(cache: ScoreCache): Promise<{ hits: number; ms: number; out: Array<Buffer | null> }> {
  const out = new Array<Buffer | null>(ids.length).fill(Buffer.from('stale'));
  const started = performance.now();
  const hits = await cache.getMany(keys, ids.length, out);
  return { hits, ms: performance.now() - started, out };
}

async function timedStore(cache: ScoreCache): Promise<number> {
  const started = performance.now();
  await cache.setMany(keys, storeAll(ids.length), ids.length, rows);
  return performance.now() - started;
}

/** Polls until a lookup hits everything again (after storing, since a restarted server is empty). */
async function untilHitsReturn(cache: ScoreCache, withinMs: number): Promise<void> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    await cache.setMany(keys, storeAll(ids.length), ids.length, rows);
    if ((await timedLookup(cache)).hits === ids.length) return;
    if (performance.now() > deadline) throw new Error(`hits did not return within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('redis score cache during outages', () => {
  it('misses within the lookup timeout while Redis hangs, and hits again once it answers', async () => {
    const logs: string[] = [];
    const cache = newCache(server.url, logs);
    try {
      expect(await cache.ready(5000)).toBe(true);
      await timedStore(cache);
      expect((await timedLookup(cache)).hits).toBe(ids.length);
      const errorsBefore = cache.stats().errors;

      server.freeze();
      try {
        for (let i = 0; i < 3; i++) {
          const { hits, ms, out } = await timedLookup(cache);
          expect(hits).toBe(0);
          expect(out.every((v) => v === null)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(LOOKUP_TIMEOUT_MS - 2); // it did wait for the reply...
          expect(ms).toBeLessThan(LOOKUP_TIMEOUT_MS + SLACK_MS); // ...but only that long
        }
        expect(await timedStore(cache)).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
        // Stuck for longer than the socket timeout (1 s here): the client drops the connection
        // and keeps trying to reconnect; lookups stay bounded throughout.
        const until = performance.now() + 1500;
        while (performance.now() < until) {
          const { hits, ms } = await timedLookup(cache);
          expect(hits).toBe(0);
          expect(ms).toBeLessThan(LOOKUP_TIMEOUT_MS + SLACK_MS);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        server.thaw();
      }
      expect(cache.stats().errors).toBeGreaterThanOrEqual(errorsBefore + 3);
      await untilHitsReturn(cache, 5000);
      // The socket timeout cut the stuck connection; the client reconnected after the thaw.
      expect(logs.filter((m) => m.includes('unavailable'))).toEqual([expect.stringContaining('Socket timeout')]);
      expect(logs.filter((m) => m.includes('connected')).length).toBe(2);
    } finally {
      await cache.close();
    }
  });

  it('misses at once while Redis is down, drops stores quietly, and reconnects when it restarts', async () => {
    const logs: string[] = [];
    const cache = newCache(server.url, logs);
    try {
      expect(await cache.ready(5000)).toBe(true);
      await timedStore(cache);
      expect((await timedLookup(cache)).hits).toBe(ids.length);

      await server.crash();
      // Right after the crash the client may not have noticed yet; either way every lookup
      // resolves all-miss within the timeout, and once it has noticed, at once.
      const deadline = performance.now() + 500;
      let lookups = 0;
      while (performance.now() < deadline) {
        const { hits, ms, out } = await timedLookup(cache);
        expect(hits).toBe(0);
        expect(out.every((v) => v === null)).toBe(true);
        expect(ms).toBeLessThan(LOOKUP_TIMEOUT_MS + SLACK_MS);
        expect(await timedStore(cache)).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
        lookups++;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(lookups).toBeGreaterThan(5);
      expect(cache.stats().errors).toBeGreaterThanOrEqual(2 * lookups);
      expect(await cache.ready(50)).toBe(false);
      expect(logs.some((m) => m.includes('unavailable'))).toBe(true);
      expect(logs.filter((m) => m.includes('unavailable')).length).toBe(1); // not one per reconnect attempt

      await server.restart();
      expect(await cache.ready(5000)).toBe(true);
      await untilHitsReturn(cache, 5000);
      expect(logs.filter((m) => m.includes('connected')).length).toBe(2);
    } finally {
      await cache.close();
    }
  });

  it('works as an always-missing cache when Redis was never there', async () => {
    const logs: string[] = [];
    const cache = newCache(`redis://127.0.0.1:${await freePort()}`, logs);
    try {
      expect(await cache.ready(300)).toBe(false);
      const { hits, ms, out } = await timedLookup(cache);
      expect(hits).toBe(0);
      expect(out.every((v) => v === null)).toBe(true);
      expect(ms).toBeLessThan(LOOKUP_TIMEOUT_MS + SLACK_MS);
      await timedStore(cache);
      expect(cache.stats()).toMatchObject({ lookups: 1, misses: ids.length, errors: 2, stores: 0 });
      expect(logs.filter((m) => m.includes('unavailable')).length).toBe(1);
    } finally {
      await cache.close();
    }
    expect(await timedLookup(cache)).toMatchObject({ hits: 0 }); // closed: misses, does not throw
  });

  it('left nothing unhandled', () => {
    expect(unhandled).toEqual([]);
    expect(keys.length).toBe(ids.length * KEY_BYTES);
  });
});
