import { describe, expect, it } from 'vitest';
import { MemoryScoreCache, entryBytes } from '../../src/cache/memory-score-cache.js';
import { KEY_BYTES } from '../../src/cache/score-cache.js';
import { HeapMeter } from '../../src/metrics/heap-meter.js';
import { hashedKey, packKeys, scoreRow, storeAll } from './keys.js';

/**
 * The request path's lookups and stores (lookupNow, setRows) are meant to be GC-free: no object,
 * string, view or boxed number per key. V8's own per-GC heap records (HeapMeter) measure what a
 * synchronous run allocates; the bound per key leaves room for the clock readings per call, and
 * nothing per key.
 */
const ENTRIES = 10_000;
const BATCH = 100;
const BATCHES = 1000; // 100,000 key lookups

function allocatedBy(run: () => void): number {
  const meter = new HeapMeter();
  meter.start();
  run();
  meter.read();
  meter.stop();
  return meter.allocatedBytes;
}

/**
 * Steady-state allocation of `run`: warmed until V8's optimising compiler (which works in the
 * background, so a loaded machine can lag) has installed code, then the least of a few runs.
 */
async function steadyAllocation(run: () => void): Promise<number> {
  for (let i = 0; i < 4; i++) {
    run();
    await new Promise((r) => setImmediate(r));
  }
  let least = Infinity;
  for (let i = 0; i < 3; i++) least = Math.min(least, allocatedBy(run));
  return least;
}

describe('memory score cache allocation', () => {
  it('allocates under 8 bytes per key over 100,000 warm lookups (hits and misses) through lookupNow', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: 64 * 1024 * 1024 });
    const keys = packKeys(Array.from({ length: ENTRIES }, (_, i) => hashedKey(i)));
    await cache.setMany(keys, storeAll(ENTRIES), ENTRIES, Array.from({ length: ENTRIES }, (_, i) => scoreRow(i)));
    // Batches of 90 stored keys and 10 unknown ones, built before measuring.
    const batches = Array.from({ length: 50 }, (_, b) =>
      packKeys(Array.from({ length: BATCH }, (_, i) => (i % 10 === 9 ? hashedKey(-1 - b * BATCH - i) : hashedKey((b * 7919 + i * 104729) % ENTRIES)))),
    );
    const out = new Array<Buffer | null>(BATCH).fill(null);
    const start = new Int32Array(BATCH);
    const end = new Int32Array(BATCH);
    let hits = 0;
    const run = (): void => {
      for (let k = 0; k < BATCHES; k++) {
        cache.lookupNow(batches[k % batches.length] as Uint8Array, BATCH, out, start, end);
        hits += out[0] === null ? 0 : 1;
      }
    };
    const bytes = await steadyAllocation(run);
    expect(hits).toBeGreaterThan(0);
    expect(cache.stats().hits).toBe(7 * BATCHES * 90);
    expect(bytes / (BATCHES * BATCH)).toBeLessThan(8);
  });

  it('allocates nothing per key when lookups find and reclaim expired entries', async () => {
    let now = 0;
    const cache = new MemoryScoreCache({ ttlSeconds: 1, maxBytes: 64 * 1024 * 1024, now: () => now });
    const n = 20_000;
    const keys = packKeys(Array.from({ length: n }, (_, i) => hashedKey(i)));
    const out = new Array<Buffer | null>(BATCH).fill(null);
    const lookAll = (): void => {
      for (let from = 0; from < n; from += BATCH) void cache.getMany(keys.subarray(from * KEY_BYTES), BATCH, out);
    };
    const rows = Array.from({ length: n }, (_, i) => scoreRow(i));
    // Each generation of entries is stored (unmeasured), expires, and is then looked up; the
    // first generations warm the code, the least of the later ones is the steady state.
    let least = Infinity;
    for (let generation = 0; generation < 7; generation++) {
      await cache.setMany(keys, storeAll(n), n, rows);
      now += 2000;
      const bytes = allocatedBy(lookAll);
      if (generation >= 4) least = Math.min(least, bytes);
      await new Promise((r) => setImmediate(r));
    }
    expect(cache.stats()).toMatchObject({ entries: 0, expired: 7 * n, hits: 0 });
    expect(least / n).toBeLessThan(8);
  });

  it('allocates under 8 bytes per value over 100,000 stores through setRows, the cache full and evicting', async () => {
    // Room for ~20,000 entries of these rows: the stores below evict one entry per value stored.
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: 20_000 * entryBytes(scoreRow(500).length + 8) });
    const rows = Array.from({ length: BATCH }, (_, i) => Buffer.concat([Buffer.alloc(8), scoreRow(i)]));
    const src = Buffer.concat(rows);
    const ends = Int32Array.from(rows.map((_, i) => rows.slice(0, i + 1).reduce((n, r) => n + r.length, 0)));
    const which = storeAll(BATCH);
    const batches = Array.from({ length: 400 }, (_, b) => packKeys(Array.from({ length: BATCH }, (_, i) => hashedKey(b * BATCH + i))));
    let next = 0;
    const run = (): void => {
      for (let k = 0; k < BATCHES; k++) void cache.setRows(batches[next++ % batches.length] as Uint8Array, which, BATCH, src, ends);
    };
    const bytes = await steadyAllocation(run);
    const s = cache.stats();
    expect(s.evictions).toBeGreaterThan(100_000);
    expect(s.entries).toBeLessThanOrEqual(20_000);
    // What a stored value reads back as: its own bytes.
    const out: Array<Buffer | null> = [null];
    const lastKeys = batches[(next - 1) % batches.length] as Uint8Array;
    await cache.getMany(lastKeys.subarray(3 * KEY_BYTES), 1, out);
    expect(out[0]).toEqual(rows[3]);
    expect(bytes / (BATCHES * BATCH)).toBeLessThan(8);
  });
});
