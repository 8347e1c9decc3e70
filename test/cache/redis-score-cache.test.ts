import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEY_BYTES, type ScoreCache, type ScoreCacheOptions } from '../../src/cache/score-cache.js';
import { createScoreCache } from '../../src/cache/create-score-cache.js';
import { KeyedHash } from '../../src/mem/keyed-hash.js';
import { hashedKey, packKeys, scoreRow, storeAll } from './keys.js';
import { RedisServer } from './redis-server.js';

let server: RedisServer;
let admin: Redis;
const open: ScoreCache[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await admin.flushall();
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

async function connect(spec = server.url, opts: Partial<ScoreCacheOptions> = {}): Promise<ScoreCache> {
  const cache = createScoreCache(spec, { ttlSeconds: 900, maxBytes: 1 << 20, ...opts });
  open.push(cache);
  expect(await cache.ready(5000)).toBe(true);
  return cache;
}

function batch(ids: number[]): { keys: Uint8Array; rows: Buffer[] } {
  return { keys: packKeys(ids.map(hashedKey)), rows: ids.map(scoreRow) };
}

async function lookup(cache: ScoreCache, keys: Uint8Array): Promise<Array<string | null>> {
  const n = keys.length / KEY_BYTES;
  const out = new Array<Buffer | null>(n).fill(null);
  const hits = await cache.getMany(keys, n, out);
  expect(hits).toBe(out.filter((v) => v !== null).length);
  return out.map((v) => v?.toString() ?? null);
}

/** Calls per command since the last CONFIG RESETSTAT, as Redis counts them. */
async function commandCalls(): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1] as string] = Number(m[2]);
  return calls;
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('redis score cache: value MACs', () => {
  it('serves only values whose MAC over key and value verifies; tampered or foreign ones are dropped and counted', async () => {
    const hasher = await KeyedHash.create(Buffer.from('deployment secret one, 32 bytes.'));
    const other = await KeyedHash.create(Buffer.from('deployment secret two, 32 bytes.'));
    const a = await connect(server.url, { hasher });
    const b = await connect(server.url, { hasher });
    const foreign = await connect(server.url, { hasher: other, keyPrefix: 'sc2:' });
    const { keys, rows } = batch(range(0, 4));
    await a.setMany(keys, storeAll(4), 4, rows);
    // A replica with the same secret verifies and hits.
    expect(await lookup(b, keys)).toEqual(rows.map(String));
    // Tamper with one stored value (same length, one byte changed), and swap two others.
    const redisKeys = range(0, 4).map((i) => Buffer.concat([Buffer.from('sc2:'), Buffer.from(keys.subarray(16 * i, 16 * i + 16))]));
    const v0 = (await admin.getBuffer(redisKeys[0] as Buffer)) as Buffer;
    v0[0] = (v0[0] as number) ^ 1;
    await admin.set(redisKeys[0] as Buffer, v0);
    const v1 = (await admin.getBuffer(redisKeys[1] as Buffer)) as Buffer;
    const v2 = (await admin.getBuffer(redisKeys[2] as Buffer)) as Buffer;
    await admin.set(redisKeys[1] as Buffer, v2);
    await admin.set(redisKeys[2] as Buffer, v1);
    expect(await lookup(b, keys)).toEqual([null, null, null, String(rows[3])]);
    expect(b.stats().rejected).toBe(3);
    // A replica with another secret cannot read (or plant) entries.
    expect(await lookup(foreign, keys)).toEqual([null, null, null, null]);
    expect(foreign.stats().rejected).toBe(4);
    await foreign.setMany(keys, storeAll(4), 4, rows.map(() => Buffer.from('[0.999]')));
    expect(await lookup(b, keys)).toEqual([null, null, null, null]);
  });
});

describe('redis score cache', () => {
  it('shares rows between replicas: what one stores, another hits', async () => {
    const a = await connect();
    const b = await connect();
    const stored = batch(range(0, 50));
    await a.setMany(stored.keys, storeAll(50), 50, stored.rows);
    const probe = batch(range(0, 60));
    const out = await lookup(b, probe.keys);
    expect(out).toEqual([...stored.rows.map(String), ...new Array(10).fill(null)]);
    expect(a.stats()).toMatchObject({ stores: 50, errors: 0 });
    expect(b.stats()).toMatchObject({ lookups: 1, keysLooked: 60, hits: 50, misses: 10, errors: 0 });
    expect(b.stats().lookupSecondsSum).toBeGreaterThan(0);
  });

  it('stores setRows values from the caller\'s scratch, which the caller may rewrite as soon as the call returns (signed and unsigned)', async () => {
    for (const hasher of [null, await KeyedHash.create(Buffer.from('deployment secret one, 32 bytes.'))]) {
      const cache = await connect(server.url, { hasher: hasher ?? undefined });
      const ids = range(500 + (hasher === null ? 0 : 10), 5);
      const { keys, rows } = batch(ids);
      const src = Buffer.concat([...rows, Buffer.alloc(50, 0x41)]);
      const ends = new Int32Array(8);
      rows.reduce((at, r, j) => (ends[j] = at + r.length), 0);
      const which = Int32Array.from([4, 3, 2, 1, 0, 7, 7, 7]);
      const stored = cache.setRows(keys, which, 5, src, ends);
      src.fill(0x5a);
      which.fill(0);
      ends.fill(0);
      await stored;
      // Key which[j] holds value j: key 4 holds row 0, ..., key 0 holds row 4.
      expect(await lookup(cache, packKeys(ids.map(hashedKey)))).toEqual([4, 3, 2, 1, 0].map((j) => (rows[j] as Buffer).toString()));
    }
  });

  it('stores only the rows `which` names, under prefix + key bytes, with the TTL', async () => {
    const cache = await connect(server.url, { keyPrefix: 'test9:' });
    const { keys, rows } = batch(range(100, 4));
    await cache.setMany(keys, Int32Array.of(3, 1), 2, [rows[3]!, rows[1]!]);
    expect(await lookup(cache, keys)).toEqual([null, rows[1]!.toString(), null, rows[3]!.toString()]);
    const redisKey = Buffer.concat([Buffer.from('test9:'), hashedKey(103)]);
    expect((await admin.getBuffer(redisKey))?.toString()).toBe(rows[3]!.toString());
    const pttl = await admin.pttl(redisKey);
    expect(pttl).toBeGreaterThan(899_000);
    expect(pttl).toBeLessThanOrEqual(900_000);
  });

  it('costs Redis exactly one MGET per lookup and one EVALSHA per store, whatever the batch size', async () => {
    const cache = await connect();
    const { keys, rows } = batch(range(0, 100));
    await cache.setMany(keys, storeAll(100), 100, rows); // the first store on a connection goes as EVAL, caching the script
    await admin.config('RESETSTAT');
    const out = new Array<Buffer | null>(100).fill(null);
    for (let r = 0; r < 5; r++) {
      expect(await cache.getMany(keys, 100, out)).toBe(100);
      await cache.setMany(keys, storeAll(100), 100, rows);
    }
    const calls = await commandCalls();
    expect(calls.mget).toBe(5);
    expect(calls.evalsha).toBe(5);
    expect(calls.eval ?? 0).toBe(0);
    expect(calls.get ?? 0).toBe(0);
    expect(calls.mset ?? 0).toBe(0);
    // INFO commandstats also counts the commands the script runs inside Redis, one SET per row;
    // these are not round trips: MONITOR below shows what the client itself sends.
    expect(calls.set).toBe(500);
  });

  it('sends one command per batch on the wire, as MONITOR sees it', async () => {
    const cache = await connect();
    const monitor = await admin.duplicate().monitor();
    const seen: Array<{ command: string; source: string }> = [];
    let marker: () => void = () => undefined;
    const markerSeen = new Promise<void>((resolve) => (marker = resolve));
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = (args[0] ?? '').toLowerCase();
      if (command === 'echo' && args[1] === 'end-of-test') marker();
      else seen.push({ command, source });
    });
    try {
      const { keys, rows } = batch(range(0, 80));
      const out = new Array<Buffer | null>(80).fill(null);
      for (let r = 0; r < 3; r++) {
        await cache.setMany(keys, storeAll(80), 80, rows);
        await cache.getMany(keys, 80, out);
      }
      await admin.echo('end-of-test');
      await markerSeen;
      const fromClient = seen.filter((s) => s.source !== 'lua').map((s) => s.command);
      expect(fromClient).toEqual(['eval', 'mget', 'evalsha', 'mget', 'evalsha', 'mget']);
      expect(seen.filter((s) => s.source === 'lua').length).toBe(3 * 80);
    } finally {
      monitor.disconnect();
    }
  });

  it('lets Redis expire rows after the TTL', async () => {
    const cache = await connect(server.url, { ttlSeconds: 1 });
    const { keys, rows } = batch(range(0, 10));
    await cache.setMany(keys, storeAll(10), 10, rows);
    expect((await lookup(cache, keys)).every((v) => v !== null)).toBe(true);
    await new Promise((r) => setTimeout(r, 1150));
    expect((await lookup(cache, keys)).every((v) => v === null)).toBe(true);
  });

  it('speaks to valkey:// URLs and the database in the path; clear() removes only its own keys', async () => {
    const cache = await connect(`valkey://127.0.0.1:${server.port}/3`);
    expect(cache.kind).toBe('redis');
    const { keys, rows } = batch(range(0, 5));
    await cache.setMany(keys, storeAll(5), 5, rows);
    const db3 = new Redis(`${server.url}/3`);
    try {
      await db3.set('not-ours', 'kept');
      expect(await db3.dbsize()).toBe(6);
      expect(await admin.dbsize()).toBe(0); // db 0 untouched
      await cache.clear();
      expect(await db3.dbsize()).toBe(1);
      expect(await db3.get('not-ours')).toBe('kept');
      expect((await lookup(cache, keys)).every((v) => v === null)).toBe(true);
    } finally {
      db3.disconnect();
    }
  });

  it('handles empty batches without a round trip', async () => {
    const cache = await connect();
    await admin.config('RESETSTAT');
    expect(await cache.getMany(new Uint8Array(0), 0, [])).toBe(0);
    await cache.setMany(new Uint8Array(0), new Int32Array(0), 0, []);
    const calls = await commandCalls();
    expect(calls.mget ?? 0).toBe(0);
    expect((calls.evalsha ?? 0) + (calls.eval ?? 0)).toBe(0);
  });
});
