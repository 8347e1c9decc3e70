import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryScoreCache, entryBytes } from '../../src/cache/memory-score-cache.js';
import { KEY_BYTES } from '../../src/cache/score-cache.js';
import { createScoreCache } from '../../src/cache/create-score-cache.js';
import { SLAB_BYTES } from '../../src/cache/value-arena.js';
import { collidingKey, hashedKey, packKeys, scoreRow, storeAll } from './keys.js';

const BIG = 64 * 1024 * 1024;

async function lookup(cache: MemoryScoreCache, keys: Uint8Array): Promise<Array<Buffer | null>> {
  const n = keys.length / KEY_BYTES;
  const out = new Array<Buffer | null>(n).fill(null);
  const hits = await cache.getMany(keys, n, out);
  expect(hits).toBe(out.filter((v) => v !== null).length);
  return out;
}

async function store(cache: MemoryScoreCache, keys: Uint8Array, values: Buffer[]): Promise<void> {
  await cache.setMany(keys, storeAll(values.length), values.length, values);
}

describe('memory score cache', () => {
  it('returns stored rows as hits and unknown keys as misses, and counts them', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: BIG });
    const ids = [1, 2, 3, 4, 5, 6];
    const keys = packKeys(ids.map(hashedKey));
    // Store only keys 1, 3 and 5 (indices 0, 2, 4) through `which`.
    const rows = [scoreRow(1), scoreRow(3), scoreRow(5)];
    await cache.setMany(keys, Int32Array.of(0, 2, 4), 3, rows);
    const out = await lookup(cache, keys);
    expect(out.map((v) => v?.toString() ?? null)).toEqual([rows[0]!.toString(), null, rows[1]!.toString(), null, rows[2]!.toString(), null]);
    const s = cache.stats();
    expect(s).toMatchObject({ lookups: 1, keysLooked: 6, hits: 3, misses: 3, errors: 0, stores: 3, entries: 3 });
    expect(s.bytes).toBe(rows.reduce((sum, r) => sum + entryBytes(r.length), 0));
    expect(s.lookupSecondsSum).toBeGreaterThanOrEqual(0);
    expect(s.lookupSecondsMax).toBeLessThanOrEqual(s.lookupSecondsSum);
  });

  it('keeps its own copy of a value, and a re-store replaces it', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: BIG });
    const keys = packKeys([hashedKey(7)]);
    const row = Buffer.from('[0.25,0.75]');
    await store(cache, keys, [row]);
    row.fill(0); // a caller reusing its (pooled) buffer must not change the cache
    expect((await lookup(cache, keys))[0]?.toString()).toBe('[0.25,0.75]');
    await store(cache, keys, [Buffer.from('[0.5,0.5]')]);
    expect((await lookup(cache, keys))[0]?.toString()).toBe('[0.5,0.5]');
    expect(cache.stats().entries).toBe(1);
    expect(cache.stats().bytes).toBe(entryBytes('[0.5,0.5]'.length));
  });

  it('evicts the least recently used entries to stay within maxBytes', async () => {
    const row = (id: number): Buffer => Buffer.from(`[${String(id).padStart(6, '0')}]`); // 8 bytes each
    const maxBytes = entryBytes(8) * 4;
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes });
    const key = (id: number): Uint8Array => packKeys([hashedKey(id)]);
    for (const id of [0, 1, 2, 3]) await store(cache, key(id), [row(id)]);
    expect(cache.stats().bytes).toBe(maxBytes);
    await lookup(cache, key(0)); // 0 becomes most recent; 1 is now the oldest
    await store(cache, key(4), [row(4)]);
    const out = await lookup(cache, packKeys([0, 1, 2, 3, 4].map(hashedKey)));
    expect(out.map((v) => v?.toString() ?? null)).toEqual([row(0).toString(), null, row(2).toString(), row(3).toString(), row(4).toString()]);
    // A bigger row pushes out as many old ones as its bytes need.
    await store(cache, key(5), [Buffer.alloc(8 + entryBytes(8), 0x31)]);
    expect(cache.stats().bytes).toBeLessThanOrEqual(maxBytes);
    expect(cache.stats().entries).toBe(3); // 0 and 2, the two oldest, made room for two rows' worth
    expect(cache.stats().evictions).toBe(3);
    expect((await lookup(cache, packKeys([0, 2, 5].map(hashedKey)))).map((v) => v !== null)).toEqual([false, false, true]);
    // A row that can never fit is not stored (and evicts nothing).
    await store(cache, key(6), [Buffer.alloc(maxBytes)]);
    expect(cache.stats().entries).toBe(3);
    expect((await lookup(cache, key(6)))[0]).toBeNull();
  });

  it('misses on expired entries and reclaims them, read or not', async () => {
    let now = 1_000;
    const cache = new MemoryScoreCache({ ttlSeconds: 1, maxBytes: BIG, now: () => now });
    const keys = packKeys([10, 11, 12].map(hashedKey));
    await store(cache, keys, [scoreRow(10), scoreRow(11), scoreRow(12)]);
    now += 999;
    expect((await lookup(cache, keys)).every((v) => v !== null)).toBe(true); // a hit does not extend the TTL
    now += 1;
    expect(await lookup(cache, keys.subarray(0, KEY_BYTES))).toEqual([null]);
    expect(cache.stats()).toMatchObject({ entries: 2, expired: 1 });
    // Unread expired entries go too: each store sweeps a few table entries, round-robin, so
    // enough stores visit the whole table (1024 entries at first).
    for (let i = 0; i < 300; i++) await store(cache, packKeys([hashedKey(100 + i)]), [scoreRow(100 + i)]);
    expect(cache.stats()).toMatchObject({ entries: 300, expired: 3 });
    let bytes = 0;
    for (let i = 0; i < 300; i++) bytes += entryBytes(scoreRow(100 + i).length);
    expect(cache.stats().bytes).toBe(bytes);
  });

  it('honours TTL on the real clock', async () => {
    const cache = createScoreCache('memory', { ttlSeconds: 0.05, maxBytes: BIG });
    const keys = packKeys([hashedKey(1)]);
    await cache.setMany(keys, storeAll(1), 1, [scoreRow(1)]);
    const out: Array<Buffer | null> = [null];
    expect(await cache.getMany(keys, 1, out)).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(await cache.getMany(keys, 1, out)).toBe(0);
    expect(out[0]).toBeNull();
  });

  it('finds every key of one long collision chain, through inserts, evictions and re-stores', async () => {
    const n = 3000;
    const row = (id: number): Buffer => Buffer.from(`[${String(id).padStart(8, '0')}]`);
    // Room for 2000 entries: the first 1000 stored are evicted.
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: entryBytes(10) * 2000 });
    const keys = packKeys(Array.from({ length: n }, (_, i) => collidingKey(i + 1)));
    for (let from = 0; from < n; from += 500) {
      const batch = keys.subarray(from * KEY_BYTES, (from + 500) * KEY_BYTES);
      await store(cache, batch, Array.from({ length: 500 }, (_, i) => row(from + i)));
    }
    const out = await lookup(cache, keys);
    for (let i = 0; i < n; i++) expect(out[i]?.toString() ?? null).toBe(i < 1000 ? null : row(i).toString());
    // Evicting from the middle of the chain (re-storing half the keys makes the other half oldest).
    const evens = packKeys(Array.from({ length: 1000 }, (_, i) => collidingKey(1000 + 2 * i + 1)));
    await store(cache, evens, Array.from({ length: 1000 }, (_, i) => row(-(1000 + 2 * i))));
    await store(cache, packKeys(Array.from({ length: 500 }, (_, i) => hashedKey(i))), Array.from({ length: 500 }, (_, i) => row(i)));
    const after = await lookup(cache, keys);
    let kept = 0;
    for (let i = 1000; i < n; i++) {
      const v = after[i]?.toString() ?? null;
      if (i % 2 === 0) expect(v).toBe(row(-i).toString()); // re-stored: most recent
      else if (v !== null) {
        expect(v).toBe(row(i).toString());
        kept++;
      }
    }
    expect(kept).toBe(500); // 500 of the 1000 odd ones made room for the 500 hashed keys
    expect(cache.stats().entries).toBe(2000);
  });

  it('grows its table past the first capacity', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: BIG });
    const n = 20_000;
    const keys = packKeys(Array.from({ length: n }, (_, i) => hashedKey(i)));
    await store(cache, keys, Array.from({ length: n }, (_, i) => scoreRow(i)));
    const out = await lookup(cache, keys);
    for (let i = 0; i < n; i += 997) expect(out[i]?.toString()).toBe(scoreRow(i).toString());
    expect(out.every((v) => v !== null)).toBe(true);
  });

  it('clear() forgets everything and the cache keeps working', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: BIG });
    const keys = packKeys(Array.from({ length: 5000 }, (_, i) => hashedKey(i)));
    await store(cache, keys, Array.from({ length: 5000 }, (_, i) => scoreRow(i)));
    await cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect((await lookup(cache, keys)).every((v) => v === null)).toBe(true);
    expect(cache.valueFootprint()).toEqual({ liveBytes: 0, slabBytes: 0 });
    await store(cache, keys.subarray(0, KEY_BYTES), [scoreRow(0)]);
    expect((await lookup(cache, keys.subarray(0, KEY_BYTES)))[0]?.toString()).toBe(scoreRow(0).toString());
  });

  it('keeps value slabs within about twice the live value bytes under churn', async () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: 1024 * 1024 });
    const hotIds: number[] = [];
    let out: Array<Buffer | null> = [];
    let stored = 0;
    for (let round = 0; round < 60; round++) {
      // Every 50th row stored is hot (read every round, so never evicted); the rest stream
      // through and get evicted. The hot rows end up scattered over many otherwise dead slabs.
      const ids = Array.from({ length: 1000 }, (_, i) => round * 1000 + i);
      await store(cache, packKeys(ids.map(hashedKey)), ids.map((id) => (id % 50 === 0 ? scoreRow(id) : Buffer.alloc(20 + (id % 40), 0x30))));
      stored += 1000;
      hotIds.push(...ids.filter((id) => id % 50 === 0));
      out = new Array<Buffer | null>(hotIds.length).fill(null);
      expect(await cache.getMany(packKeys(hotIds.map(hashedKey)), hotIds.length, out)).toBe(hotIds.length);
      const { liveBytes, slabBytes } = cache.valueFootprint();
      expect(slabBytes).toBeLessThanOrEqual(2 * liveBytes + 3 * SLAB_BYTES);
    }
    expect(cache.stats().evictions).toBeGreaterThan(stored / 2);
    hotIds.forEach((id, i) => expect(out[i]?.toString()).toBe(scoreRow(id).toString()));
  });

  it('behaves like a reference byte-bounded LRU, collisions included', async () => {
    // Keys 0..23 collide on one slot, 24..47 are ordinary hashes.
    const keyOf = (id: number): Uint8Array => (id < 24 ? collidingKey(id + 1) : hashedKey(id));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), items: fc.array(fc.tuple(fc.nat(47), fc.nat(90)), { minLength: 1, maxLength: 12 }) }),
      fc.record({ kind: fc.constant('get' as const), ids: fc.array(fc.nat(47), { minLength: 1, maxLength: 12 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 60 }), async (room, ops) => {
        const maxBytes = entryBytes(40) * room;
        const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes, now: () => 0 });
        const model = new Map<number, Buffer>(); // insertion order = LRU order, oldest first
        let modelBytes = 0;
        let version = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            const values = o.items.map(([, len]) => Buffer.from(`${version++}:`.padEnd(len, 'x')));
            await cache.setMany(packKeys(o.items.map(([id]) => keyOf(id))), storeAll(values.length), values.length, values);
            o.items.forEach(([id], j) => {
              const v = values[j]!;
              const old = model.get(id);
              if (old) {
                model.delete(id);
                modelBytes -= entryBytes(old.length);
              }
              if (entryBytes(v.length) > maxBytes) return;
              while (modelBytes + entryBytes(v.length) > maxBytes) {
                const [oldestId, oldest] = model.entries().next().value as [number, Buffer];
                model.delete(oldestId);
                modelBytes -= entryBytes(oldest.length);
              }
              model.set(id, v);
              modelBytes += entryBytes(v.length);
            });
          } else {
            const out = await lookup(cache, packKeys(o.ids.map(keyOf)));
            o.ids.forEach((id, i) => {
              const v = model.get(id);
              expect(out[i]?.toString() ?? null).toBe(v?.toString() ?? null);
              if (v) {
                model.delete(id);
                model.set(id, v);
              }
            });
          }
          expect(cache.stats().entries).toBe(model.size);
          expect(cache.stats().bytes).toBe(modelBytes);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a batch that does not fit its keys (a caller bug) synchronously', () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: BIG });
    expect(() => cache.getMany(new Uint8Array(KEY_BYTES), 2, [])).toThrow(RangeError);
    expect(() => cache.setMany(new Uint8Array(KEY_BYTES), Int32Array.of(1), 1, [scoreRow(1)])).toThrow(RangeError);
  });
});

describe('off score cache', () => {
  it('misses everything and stores nothing', async () => {
    const cache = createScoreCache('off', { ttlSeconds: 900, maxBytes: BIG });
    expect(cache.kind).toBe('off');
    const keys = packKeys([hashedKey(1), hashedKey(2)]);
    await cache.setMany(keys, storeAll(2), 2, [scoreRow(1), scoreRow(2)]);
    const out: Array<Buffer | null> = [Buffer.from('stale'), Buffer.from('stale')];
    expect(await cache.getMany(keys, 2, out)).toBe(0);
    expect(out).toEqual([null, null]);
    expect(cache.stats()).toMatchObject({ lookups: 1, keysLooked: 2, hits: 0, misses: 2, stores: 0 });
    expect(await cache.ready()).toBe(true);
    await cache.close();
  });

  it('refuses an unknown spec', () => {
    expect(() => createScoreCache('memcached://x:1', { ttlSeconds: 900, maxBytes: BIG })).toThrow(/unknown spec/);
    expect(createScoreCache(' memory ', { ttlSeconds: 900, maxBytes: BIG }).kind).toBe('memory');
  });
});
