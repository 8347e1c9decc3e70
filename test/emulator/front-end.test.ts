import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ZERO_COST,
  causalPairs,
  exactPrefixPacks,
  frontEndCostUs,
  packPairs,
  tokenizeCostUs,
} from '../../src/emulator/cost-model.js';
import { FITTED, MEASURED_FRONT_END, deriveCost, hostScale } from '../../src/emulator/profiles.js';
import { PRUNED_375M } from '../../src/emulator/shapes.js';
import { type Proc, call, postJson, startEmulator } from '../e2e/harness.js';

/**
 * SGLang's serial front end in the cost model: its per-request, per-sequence and per-token terms,
 * the exact-prefix packs of a patched server, the measured constants scaled to the serving host,
 * and the charges the emulator makes per request (read back from /emulator/stats, not timed).
 */
describe('front-end cost terms', () => {
  it('charges per request, per sequence and per token', () => {
    const p = { ...ZERO_COST, frontEndPerRequestUs: 1000, frontEndPerSeqUs: 100, frontEndPerTokenUs: 0.5 };
    expect(frontEndCostUs(p, 10, 2000)).toBe(1000 + 10 * 100 + 2000 * 0.5);
    // One pack of the same tokens pays the per-sequence term once.
    expect(frontEndCostUs(p, 1, 2000)).toBe(1000 + 100 + 2000 * 0.5);
    expect(frontEndCostUs(ZERO_COST, 10, 2000)).toBe(0);
  });

  it('follows the measured curve with the requests in flight: log-interpolated, flat outside it', () => {
    const p = {
      ...ZERO_COST,
      frontEndPerRequestUs: 3000,
      frontEndPerSeqUs: 100,
      frontEndPerTokenUs: 1,
      frontEndCurve: [
        { concurrency: 4, perRequestUs: 2000, perSeqUs: 200, perTokenUs: 1 },
        { concurrency: 16, perRequestUs: 1000, perSeqUs: 200, perTokenUs: 0 },
      ],
    };
    expect(frontEndCostUs(p, 1, 0, 1)).toBe(3100);
    expect(frontEndCostUs(p, 1, 0, 0)).toBe(3100);
    // Two is halfway from 1 to 4 in log2; eight halfway from 4 to 16.
    expect(frontEndCostUs(p, 1, 0, 2)).toBeCloseTo(2500 + 150, 9);
    expect(frontEndCostUs(p, 2, 10, 4)).toBeCloseTo(2000 + 400 + 10, 9);
    expect(frontEndCostUs(p, 1, 10, 8)).toBeCloseTo(1500 + 200 + 5, 9);
    expect(frontEndCostUs(p, 1, 10, 16)).toBe(1200);
    expect(frontEndCostUs(p, 1, 10, 500)).toBe(1200);
    // Without an in-flight count, one request in flight.
    expect(frontEndCostUs(p, 1, 0)).toBe(3100);
  });

  it('scales every measured front-end term by one host factor, the fitted over the measured tokenizer cost', () => {
    const k = { gpuEfficiency: 0.3, tokenizeUsPerToken: MEASURED_FRONT_END.tokenizePerTokenUs / 2 };
    expect(hostScale(k)).toBeCloseTo(0.5, 12);
    const c = deriveCost(PRUNED_375M, undefined, k);
    const [c1, ...rest] = MEASURED_FRONT_END.ids;
    expect(c.frontEndPerRequestUs).toBeCloseTo(c1.perRequestUs / 2, 9);
    expect(c.frontEndPerSeqUs).toBeCloseTo(c1.perSeqUs / 2, 9);
    expect(c.frontEndPerTokenUs).toBeCloseTo(c1.perTokenUs / 2, 9);
    expect(c.frontEndCurve).toHaveLength(rest.length);
    c.frontEndCurve.forEach((pt, i) => {
      expect(pt.concurrency).toBe(rest[i]!.concurrency);
      expect(pt.perRequestUs).toBeCloseTo(rest[i]!.perRequestUs / 2, 9);
      expect(pt.perSeqUs).toBeCloseTo(rest[i]!.perSeqUs / 2, 9);
      expect(pt.perTokenUs).toBeCloseTo(rest[i]!.perTokenUs / 2, 9);
    });
    expect(c.tokenizePerTextUs).toBeCloseTo(MEASURED_FRONT_END.tokenizePerTextUs / 2, 9);
    expect(c.tokenizePerTokenUs).toBe(k.tokenizeUsPerToken);
  });

  it('makes an id request cost front-end time in the shipped profiles, and a text request more', () => {
    const c = deriveCost(PRUNED_375M, undefined, FITTED);
    const lens = Array.from({ length: 10 }, () => 216);
    const ids = frontEndCostUs(c, 10, 2160);
    expect(ids).toBeGreaterThan(0);
    expect(ids + tokenizeCostUs(c, lens)).toBeGreaterThan(ids);
  });
});

describe('exact-prefix packs (patches/)', () => {
  it('counts the prefix once per pack and adds no delimiters', () => {
    expect(packPairs(50, [10, 20], false)).toBe(causalPairs(50) + 10 * 50 + causalPairs(10) + 20 * 50 + causalPairs(20));
    expect(packPairs(50, [10, 20], false)).toBeLessThan(packPairs(50, [10, 20]));
    const [only] = exactPrefixPacks(50, [10, 20, 30], 1000);
    expect(exactPrefixPacks(50, [10, 20, 30], 1000)).toHaveLength(1);
    expect(only).toEqual({ tokens: 110, pairs: packPairs(50, [10, 20, 30], false) });
  });

  it('splits packs at the length limit, in order, and gives an oversized item a pack of its own', () => {
    const packs = exactPrefixPacks(10, [40, 40, 40, 200, 5], 100);
    expect(packs.map((p) => p.tokens)).toEqual([90, 50, 210, 15]);
    expect(packs[0]!.pairs).toBe(packPairs(10, [40, 40], false));
    expect(exactPrefixPacks(10, [], 100)).toEqual([]);
  });
});

describe('the emulator charges the front end per request', () => {
  const cost = 'frontEndPerRequestUs=1000,frontEndPerSeqUs=100,frontEndPerTokenUs=1';
  let single: Proc;
  let patched: Proc;
  const query = [151644, 872, 198, 1234];
  const items = [[5, 6, 7], [8], [9, 10]];
  const labels = [9693, 2152];

  beforeAll(async () => {
    single = await startEmulator(['--cost', cost]);
    patched = await startEmulator(['--patched', '--cost', cost]);
  });
  afterAll(async () => {
    for (const p of [single, patched]) await p?.stop();
  });

  async function stats(p: Proc): Promise<{ modelled_front_end_us: number; scheduler: { tokens: number } }> {
    return JSON.parse((await call(p.url + '/emulator/stats', 'GET')).text) as { modelled_front_end_us: number; scheduler: { tokens: number } };
  }

  async function delta(p: Proc, body: unknown): Promise<{ frontUs: number; tokens: number; scores: number[][] }> {
    const before = await stats(p);
    const r = await postJson(p.url, '/v1/score', body);
    expect(r.status).toBe(200);
    const after = await stats(p);
    return {
      frontUs: after.modelled_front_end_us - before.modelled_front_end_us,
      tokens: after.scheduler.tokens - before.scheduler.tokens,
      scores: (JSON.parse(r.text) as { scores: number[][] }).scores,
    };
  }

  it('single-item ids: per request, per item and per prompt token', async () => {
    const d = await delta(single, { query, items, label_token_ids: labels, apply_softmax: true });
    const tokens = 3 * query.length + 3 + 1 + 2;
    expect(d.frontUs).toBe(1000 + 3 * 100 + tokens);
    expect(d.tokens).toBe(tokens);
  });

  it('text requests pay the same front end for the ids they become', async () => {
    const d = await delta(single, { query: 'Is this relevant?', items: ['yes it is', 'no'], label_token_ids: labels });
    expect(d.frontUs).toBe(1000 + 2 * 100 + d.tokens);
  });

  it('patched, ids, apply_softmax, query first: one exact-prefix pack, same scores as single-item', async () => {
    const body = { query, items, label_token_ids: labels, apply_softmax: true };
    const d = await delta(patched, body);
    const packTokens = query.length + 3 + 1 + 2;
    expect(d.frontUs).toBe(1000 + 100 + packTokens);
    expect(d.tokens).toBe(packTokens);
    expect(d.scores).toEqual((await delta(single, body)).scores);
  });

  it('patched falls back to single-item prompts without apply_softmax or with item_first', async () => {
    const tokens = 3 * query.length + 3 + 1 + 2;
    for (const extra of [{ apply_softmax: false }, { apply_softmax: true, item_first: true }]) {
      const d = await delta(patched, { query, items, label_token_ids: labels, ...extra });
      expect(d.frontUs).toBe(1000 + 3 * 100 + tokens);
      expect(d.tokens).toBe(tokens);
    }
  });
});

describe('the emulator charges the measured front end by the requests in flight', () => {
  let emu: Proc;
  const query = [151644, 872, 198, 1234];
  const body = { query, items: [[5, 6, 7], [8], [9, 10]], label_token_ids: [9693, 2152], apply_softmax: true };
  const tokens = 3 * query.length + 3 + 1 + 2;

  beforeAll(async () => {
    emu = await startEmulator(['--profile', 'pruned-375m']);
  });
  afterAll(async () => {
    await emu?.stop();
  });

  async function frontUs(): Promise<number> {
    return (JSON.parse((await call(emu.url + '/emulator/stats', 'GET')).text) as { modelled_front_end_us: number }).modelled_front_end_us;
  }

  it('one request alone pays the single-request terms; 16 at once pay less each, never below the 16-in-flight point', async () => {
    const c = deriveCost(PRUNED_375M);
    const t0 = await frontUs();
    expect((await postJson(emu.url, '/v1/score', body)).status).toBe(200);
    const alone = (await frontUs()) - t0;
    expect(alone).toBeCloseTo(frontEndCostUs(c, 3, tokens, 1), 6);
    const t1 = await frontUs();
    const rs = await Promise.all(Array.from({ length: 16 }, () => postJson(emu.url, '/v1/score', body)));
    for (const r of rs) expect(r.status).toBe(200);
    const each = ((await frontUs()) - t1) / 16;
    expect(each).toBeLessThan(alone);
    expect(each).toBeGreaterThanOrEqual(frontEndCostUs(c, 3, tokens, 16) - 1e-6);
  });
});
