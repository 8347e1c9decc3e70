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
  // as the other scorecar's do.
  cached = await startScorecar([emulator.url], ['--score-cache', 'memory', '--coalesce-window-ms', '0']);
  cachedClient = new Pool(cached.url, { connections: 8 });
});

afterAll(async () => {
  await client?.close();
  await cachedClient?.close();
  await scorecar?.stop();
  await cached?.stop();
  await emulator?.stop();
});

/** The parts of scorecar's /scorecar/stats this test reads. */
async function stats(url: string): Promise<{ heap: { allocated_bytes: number }; score_cache: { hits: number; misses: number } }> {
  return JSON.parse((await call(url + '/scorecar/stats', 'GET')).text) as { heap: { allocated_bytes: number }; score_cache: { hits: number; misses: number } };
}

async function allocated(url: string): Promise<number> {
  return (await stats(url)).heap.allocated_bytes;
}

/** Sends `bodies` round-robin, 8 at a time, `total` requests; returns the bytes scorecar allocated meanwhile. */
async function drive(bodies: string[], total: number, target: 'off' | 'cached' = 'off'): Promise<number> {
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
  const before = await allocated(url);
  await Promise.all(Array.from({ length: 8 }, worker));
  return (await allocated(url)) - before;
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

async function cacheHits(): Promise<{ hits: number; misses: number }> {
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
    // Warm every path and pool (and the caches for the text bodies).
    await drive(small, 400);
    await drive(large, 60);
    await drive(text, 200);

    const idsSmall = (await drive(small, 1000)) / 10_000;
    const idsLarge = (await drive(large, 200)) / 20_000;
    const warmText = (await drive(text, 1000)) / 10_000;
    // Per request at 10 and at 100 items; the slope is what one more item costs.
    const perReq10 = idsSmall * 10;
    const perReq100 = idsLarge * 100;
    const marginal = (perReq100 - perReq10) / 90;
    console.log(
      `heap bytes per item: ids 10-item ${idsSmall.toFixed(0)}, ids 100-item ${idsLarge.toFixed(0)}, ` +
        `warm text 10-item ${warmText.toFixed(0)}; marginal per extra item ${marginal.toFixed(1)}`,
    );
    // What a request costs is the HTTP layer's and the pipeline's per-request objects;
    // what an item costs is ~0. Measured here on 2026-12-03: ids 10-item 2,917-2,963 B per item
    // with undici carrying the scoring calls, then 2,372-2,390 (100-item 238-243, warm text
    // 2,268-2,277) once they went through H1Pool (src/backend/h1-pool.ts), three runs; on
    // 2026-12-04 2,085-2,134 (100-item 210-215, warm text 2,091-2,107) once bodies were read
    // without a promise, admission at once took no promise, and two async frames left the call
    // path; 1,285-1,306 (100-item 117-118, warm text 1,288-1,331) on 2026-12-04 once POST
    // /v1/score was served by scorecar's own HTTP/1.1 code instead of node:http
    // (src/api/http/h1-front.ts); on 2026-12-05 811-834 (100-item 70-72, warm text 974-980) once
    // the scoring path ran on continuations and pooled calls instead of promises and async
    // frames, and reused scratch arrays stopped being truncated (two runs); warm text 879 once
    // it was resolved from the token caches without a promise. The bounds sit ~20% above that
    // to catch a regression. The hot-path issue's target (256 B per item) is not met.
    expect(idsSmall).toBeLessThan(1000);
    expect(warmText).toBeLessThan(1060);
    expect(idsLarge).toBeLessThan(110);
    expect(marginal).toBeLessThan(32);
  }, 180_000);

  it('bounds what the default memory score cache adds per item, at 0% and 50% hits', async () => {
    // Warm-up: the code paths, and the five repeated items stored (bodies of their own new items).
    await drive(cacheBodies(0, 300, 1, 11), 300, 'cached');
    await drive(cacheBodies(5, 300, 2, 12), 300, 'cached');
    const s0 = await cacheHits();
    const miss = (await drive(cacheBodies(0, 1000, 3, 13), 1000, 'cached')) / 10_000;
    const s1 = await cacheHits();
    const half = (await drive(cacheBodies(5, 1000, 2, 14), 1000, 'cached')) / 10_000;
    const s2 = await cacheHits();
    console.log(`heap bytes per item, score cache on: 0% hits ${miss.toFixed(0)}, 50% hits ${half.toFixed(0)}`);
    // The runs are what they say: no hit in the first, exactly the five repeated items in the second.
    expect([s1.hits - s0.hits, s1.misses - s0.misses]).toEqual([0, 10_000]);
    expect([s2.hits - s1.hits, s2.misses - s1.misses]).toEqual([5_000, 5_000]);
    // Measured here on 2026-12-03 (three runs each): 3,140-3,175 B per item at 0% hits and
    // 2,916-2,952 at 50% once keyed hashing stopped going through hash-wasm's allocating wrapper
    // (src/mem/blake3-wasm.ts); 3,042-3,067 and 2,808-2,848 once a lone request's batch skipped
    // the coalescer's multi-batch bookkeeping; 2,452-2,484 and 2,224-2,272 once scoring calls
    // went through H1Pool instead of undici; 2,150-2,196 and 1,936-1,989 on 2026-12-04 (the
    // changes noted in the test above); 1,350-1,456 and 1,150-1,172 with the H1 front; 895-908
    // and 681-684 on 2026-12-05 (continuations, see above). The bounds sit ~20% above that to
    // catch a regression.
    expect(miss).toBeLessThan(1100);
    expect(half).toBeLessThan(830);
  }, 180_000);
});
