import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomIds } from '../support/random-texts.js';
import { type Proc, call, startEmulator, startScorecar } from './harness.js';

/**
 * The hot path is designed GC-free: no per-item objects, ids in pooled typed arrays, bodies
 * written into reused buffers. scorecar's own main thread measures what it allocates (V8's
 * per-GC heap sizes, see HeapMeter); this bounds it per item over 10,000 items with warm caches,
 * and bounds the marginal cost of one more item in a request, which per-item objects would show.
 */
let emulator: Proc;
let scorecar: Proc;
let cached: Proc;
let client: Pool;
let cachedClient: Pool;

beforeAll(async () => {
  emulator = await startEmulator();
  // Score cache off: every request takes the path to the backend, the one to keep allocation-free.
  scorecar = await startScorecar([emulator.url], ['--score-cache', 'off']);
  client = new Pool(scorecar.url, { connections: 8 });
  // The default score cache (memory) on, as most deployments run; no coalescing, so that its
  // bodies (one query throughout, for the repeated items' keys) each make their own backend call
  // as the other scorecar's do. 2 MiB (~20,000 entries) so that the warm-up fills it and the runs
  // see it as a long-running sidecar does, full and evicting: at the default 256 MiB the runs would
  // measure a cache still growing (its table doubling, new slabs), which is not the steady state.
  cached = await startScorecar([emulator.url], ['--score-cache', 'memory', '--score-cache-mb', '2', '--coalesce-window-ms', '0']);
  cachedClient = new Pool(cached.url, { connections: 8 });
});

afterAll(async () => {
  await client?.close();
  await cachedClient?.close();
  await scorecar?.stop();
  await cached?.stop();
  await emulator?.stop();
});

interface Stats {
  heap: { allocated_bytes: number; gc_seconds: number; gc_major_seconds: number };
  score_cache: { hits: number; misses: number };
}

/** The parts of scorecar's /scorecar/stats this test reads. */
async function stats(url: string): Promise<Stats> {
  return JSON.parse((await call(url + '/scorecar/stats', 'GET')).text) as Stats;
}

/** What scorecar's main thread spent over one run: heap bytes allocated, seconds in GC pauses. */
interface Spent {
  bytes: number;
  gcSeconds: number;
  /** Of gcSeconds, full collections (mark-compact). */
  majorSeconds: number;
}

/** Sends `bodies` round-robin, 8 at a time, `total` requests; returns what scorecar spent meanwhile. */
async function drive(bodies: string[], total: number, target: 'off' | 'cached' = 'off'): Promise<Spent> {
  const pool = target === 'off' ? client : cachedClient;
  const url = target === 'off' ? scorecar.url : cached.url;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const body = bodies[next++ % bodies.length] as string;
      const r = await pool.request({ path: '/v1/score', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await r.body.text();
      if (r.statusCode !== 200) throw new Error(`${r.statusCode}: ${text}`);
    }
  };
  const before = (await stats(url)).heap;
  await Promise.all(Array.from({ length: 8 }, worker));
  const after = (await stats(url)).heap;
  return {
    bytes: after.allocated_bytes - before.allocated_bytes,
    gcSeconds: after.gc_seconds - before.gc_seconds,
    majorSeconds: after.gc_major_seconds - before.gc_major_seconds,
  };
}

/**
 * Runs per figure: the bytes are the least of them, the GC time is summed over all of them (100,000
 * items: one scavenge stretched by a busy VM moves the figure by a fraction of its 1 ms bound).
 */
const RUNS = 10;

/**
 * The steady state: V8 takes a few thousand requests to optimise the whole path (the first 1,000
 * after start allocate ~1.6x what later ones do), so the bytes are the least of RUNS runs made
 * after a warm-up. GC pauses come megabytes apart (here a scavenge of ~1 ms every ~100,000 items),
 * so one run may hold none and another one: their time is taken over all RUNS runs.
 */
async function steady(run: () => Promise<Spent>, items: number): Promise<{ bytes: number; gcMs: number; scavengeMs: number }> {
  let bytes = Infinity;
  let gcSeconds = 0;
  let majorSeconds = 0;
  for (let r = 0; r < RUNS; r++) {
    const s = await run();
    bytes = Math.min(bytes, s.bytes / items);
    gcSeconds += s.gcSeconds;
    majorSeconds += s.majorSeconds;
  }
  const per10k = (seconds: number): number => (seconds * 1000 * 10_000) / (RUNS * items);
  return { bytes, gcMs: per10k(gcSeconds), scavengeMs: per10k(gcSeconds - majorSeconds) };
}

/**
 * Bodies of 10 items of 100 ids: the first `repeated` items the same in every body (drawn from
 * `fixedSeed`), the rest new to each (drawn from `seed`, so runs with other seeds never repeat them).
 */
function cacheBodies(repeated: number, count: number, fixedSeed: number, seed: number): string[] {
  const fixedRnd = mulberry32(fixedSeed);
  const query = randomIds(fixedRnd, 60, 60);
  const fixed = Array.from({ length: repeated }, () => randomIds(fixedRnd, 100, 100));
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, () =>
    JSON.stringify({
      query,
      items: [...fixed, ...Array.from({ length: 10 - repeated }, () => randomIds(rnd, 100, 100))],
      label_token_ids: [9693, 2152],
      apply_softmax: true,
    }),
  );
}

async function cacheHits(): Promise<Stats['score_cache']> {
  return (await stats(cached.url)).score_cache;
}

function idsBodies(items: number, tokens: number, count: number): string[] {
  const rnd = mulberry32(items * 1000 + tokens);
  return Array.from({ length: count }, () =>
    JSON.stringify({
      query: randomIds(rnd, 60, 60),
      items: Array.from({ length: items }, () => randomIds(rnd, tokens, tokens)),
      label_token_ids: [9693, 2152],
      apply_softmax: true,
    }),
  );
}

function textBodies(items: number, count: number): string[] {
  const rnd = mulberry32(items);
  const pool = Array.from({ length: 50 }, (_, i) => `Title: Engineer ${i}\nCompany: Example ${Math.floor(rnd() * 1000)}\nDescription: build and ship reliable services.`);
  return Array.from({ length: count }, (_, k) =>
    JSON.stringify({
      query: `<|im_start|>user\nQuery: backend jobs ${k % 5}\n`,
      items: Array.from({ length: items }, () => pool[Math.floor(rnd() * pool.length)]),
      label_token_ids: [9693, 2152],
      apply_softmax: true,
    }),
  );
}

describe('GC-free hot path', () => {
  it('allocates little per item, and almost nothing per extra item, over 10,000 items', async () => {
    const small = idsBodies(10, 100, 50);
    const large = idsBodies(100, 100, 20);
    const text = textBodies(10, 50);
    // Warm every path and pool (and the token caches for the text bodies) to the steady state.
    await drive(small, 2500);
    await drive(large, 150);
    await drive(text, 2500);

    const idsSmall = await steady(() => drive(small, 1000), 10_000);
    const idsLarge = await steady(() => drive(large, 100), 10_000);
    const warmText = await steady(() => drive(text, 1000), 10_000);
    // Per request at 10 and at 100 items; the slope is what one more item costs.
    const perReq10 = idsSmall.bytes * 10;
    const perReq100 = idsLarge.bytes * 100;
    const marginal = (perReq100 - perReq10) / 90;
    console.log(
      `heap bytes per item: ids 10-item ${idsSmall.bytes.toFixed(0)}, ids 100-item ${idsLarge.bytes.toFixed(0)}, ` +
        `warm text 10-item ${warmText.bytes.toFixed(0)}; marginal per extra item ${marginal.toFixed(1)}; ` +
        `GC ms per 10k items (of which not full collections): ids 10-item ${idsSmall.gcMs.toFixed(2)} (${idsSmall.scavengeMs.toFixed(2)}), 100-item ${idsLarge.gcMs.toFixed(2)} (${idsLarge.scavengeMs.toFixed(2)}), warm text ${warmText.gcMs.toFixed(2)} (${warmText.scavengeMs.toFixed(2)})`,
    );
    // What a request costs is the HTTP layer's and the pipeline's per-request objects; what an
    // item costs is ~0. The history (ids 10-item, B per item): 2,917-2,963 on 2026-12-03 with
    // undici carrying the scoring calls; 1,285-1,306 on 2026-12-04 with scorecar's own HTTP/1.1
    // front; 364-382 on 2026-12-05 (continuations, pooled calls, no per-request coalescer state,
    // one read buffer; from then on the steady state: the least of several runs after a warm-up);
    // 237-243 on 2026-12-06 (socket writes past Writable, no timer per deadline, pooled calls and
    // tickets); 136-137 once socket writes reused one request object and partial copies stopped
    // making views (warm text 146-147, 100-item 16). The hot-path issue's targets: at most 256 B
    // per item on the ids path, the warm text path within 1.5x of it.
    expect(idsSmall.bytes).toBeLessThan(256);
    expect(warmText.bytes).toBeLessThan(1.5 * idsSmall.bytes);
    expect(idsLarge.bytes).toBeLessThan(32);
    expect(marginal).toBeLessThan(16);
    // GC pauses per 10k items, full collections included. They read 0-5 ms while node gave every
    // front socket read an ArrayBuffer of its own; since the front reads into one buffer and the
    // young generation is kept at 16 MiB (src/cli/node-flags.ts), a ~1 ms scavenge comes every
    // ~100,000 items. Full collections came after start-up (the start-up garbage, ~20 s in) and
    // when an idle sidecar was loaded again (V8's memory reducer); scorecar now collects its
    // start-up garbage before it serves (src/mem/startup-gc.ts) and runs without the memory
    // reducer, and none lands in these runs (--trace-gc). The design's bound: 1 ms per 10k items.
    for (const g of [idsSmall, idsLarge, warmText]) expect(g.gcMs).toBeLessThan(1);
  }, 240_000);

  it('bounds what the default memory score cache adds per item, at 0% and 50% hits', async () => {
    // Warm-up: the code paths, and the five repeated items stored (bodies of their own new items).
    await drive(cacheBodies(0, 2500, 1, 11), 2500, 'cached');
    await drive(cacheBodies(5, 300, 2, 12), 300, 'cached');
    // Each run sends items new to the cache (seeds never used before) beside, in the 50% runs,
    // the five repeated ones; the hit counts show each run is what it says.
    let seed = 100;
    const run = async (repeated: number): Promise<Spent> => {
      const before = await cacheHits();
      const spent = await drive(cacheBodies(repeated, 1000, repeated === 0 ? 3 : 2, seed++), 1000, 'cached');
      const after = await cacheHits();
      expect([after.hits - before.hits, after.misses - before.misses]).toEqual(repeated === 0 ? [0, 10_000] : [5_000, 5_000]);
      return spent;
    };
    const miss = await steady(() => run(0), 10_000);
    // The 0% runs stored three times what the cache holds, evicting the five repeated items: stored again.
    await drive(cacheBodies(5, 300, 2, 13), 300, 'cached');
    const half = await steady(() => run(5), 10_000);
    console.log(
      `heap bytes per item, score cache on: 0% hits ${miss.bytes.toFixed(0)}, 50% hits ${half.bytes.toFixed(0)}; ` +
        `GC ms per 10k items (of which not full collections): ${miss.gcMs.toFixed(2)} (${miss.scavengeMs.toFixed(2)}), ${half.gcMs.toFixed(2)} (${half.scavengeMs.toFixed(2)})`,
    );
    // Measured here (0% and 50% hits, B per item): 3,140-3,175 and 2,916-2,952 on 2026-12-03;
    // 1,350-1,456 and 1,150-1,172 on 2026-12-04 with the H1 front; 358-373 and 355-362 on
    // 2026-12-05 in the steady state with the cache full and evicting; 233-234 and 232 on
    // 2026-12-06, then 129-131 and 128-130 (the changes noted in the test above). The hot-path
    // issue's targets with the default cache on: at most 256 B per item and 1 ms of GC pauses
    // (full collections included) per 10k items.
    expect(miss.bytes).toBeLessThan(256);
    expect(half.bytes).toBeLessThan(256);
    for (const g of [miss, half]) expect(g.gcMs).toBeLessThan(1);
  }, 240_000);
});
