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

  it('scales every measured front-end term by one host factor, the fitted over the measured tokenizer cost', () => {
    const k = { gpuEfficiency: 0.3, tokenizeUsPerToken: MEASURED_FRONT_END.tokenizePerTokenUs / 2 };
    expect(hostScale(k)).toBeCloseTo(0.5, 12);
    const c = deriveCost(PRUNED_375M, undefined, k);
    expect(c.frontEndPerRequestUs).toBeCloseTo(MEASURED_FRONT_END.perRequestUs / 2, 9);
    expect(c.frontEndPerSeqUs).toBeCloseTo(MEASURED_FRONT_END.perSeqUs / 2, 9);
    expect(c.frontEndPerTokenUs).toBeCloseTo(MEASURED_FRONT_END.perTokenUs / 2, 9);
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
