import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRealSglang } from '../../support/real-sglang.js';
import { mulberry32, randomText } from '../../support/random-texts.js';
import { type Proc, call, startScorecar } from '../harness.js';
import { pyDumps } from '../../support/py-dumps.js';
import { LABEL_SETS, NO, type Raw, type ScoreAnswer, TOLERANCE_CEILING, YES, expectSameAnswer, ids, maxRelDiff, postScore, send } from './common.js';

/**
 * /v1/score sent to the real CPU SGLang server directly and through scorecar (`serve --backend
 * URL`): text and ids, item_first, label sets of 1-3, apply_softmax both ways, empty items, a
 * single string item, 1-50 items. scorecar's answer must be SGLang's: status, keys, `usage`,
 * `object`, `model` identical; scores within a tolerance measured here first.
 *
 * The tolerance: SGLang is not bit-for-bit repeatable against itself. Its radix cache reuses a
 * cached prefix's KV, and a prompt computed on top of cached KV differs from the same prompt
 * computed cold by ~1e-6 relative (float32). So before comparing, the suite measures SGLang
 * direct against itself: the same request twice, and the same items split differently (one call
 * of 10 items vs 10 one-item calls). via-vs-direct uses max(1e-6, that spread), relative to the
 * larger of the two scores; the spread itself must stay under TOLERANCE_CEILING (common.ts).
 */

const Q = '<|im_start|>user\nQuery: remote python jobs\n';
const ITEMS = ['Title: Senior Python Engineer (remote)', 'Title: Pastry Chef, Lyon', '<|im_start|>assistant\nyes'];

interface Case {
  name: string;
  body: Record<string, unknown>;
}

function textItems(seed: number, n: number): string[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => (i < ITEMS.length && seed === 1 ? (ITEMS[i] as string) : randomText(rnd, 12)));
}
function idItems(seed: number, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => ids(3 + ((seed + i) % 9), seed * 100 + i));
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [k, labels] of LABEL_SETS.entries()) {
    for (const softmax of [false, true]) {
      for (const itemFirst of [false, true]) {
        const flags = `${labels.length} label(s), apply_softmax ${softmax}, item_first ${itemFirst}`;
        out.push({ name: `text, ${flags}`, body: { query: Q, items: textItems(1 + k, 3), label_token_ids: labels, apply_softmax: softmax, item_first: itemFirst } });
        out.push({ name: `ids, ${flags}`, body: { query: ids(12, 1 + k), items: idItems(1 + k, 3), label_token_ids: labels, apply_softmax: softmax, item_first: itemFirst } });
      }
    }
  }
  for (const n of [1, 2, 10, 25, 50]) {
    out.push({ name: `text, ${n} items`, body: { query: randomText(mulberry32(n), 8), items: textItems(100 + n, n), label_token_ids: [YES, NO], apply_softmax: true } });
    out.push({ name: `ids, ${n} items`, body: { query: ids(20, n), items: idItems(100 + n, n), label_token_ids: [YES, NO] } });
  }
  out.push({ name: 'text, empty items', body: { query: Q, items: [], label_token_ids: [YES, NO] } });
  out.push({ name: 'ids, empty items', body: { query: ids(5, 3), items: [], label_token_ids: [YES, NO], apply_softmax: true } });
  for (const softmax of [false, true]) {
    out.push({ name: `text, one string item, apply_softmax ${softmax}`, body: { query: Q, items: 'Title: Barista', label_token_ids: [YES, NO], apply_softmax: softmax } });
  }
  return out;
}

describeRealSglang('scorecar in front of real SGLang: /v1/score direct vs via', (sglang) => {
  let scorecar: Proc;
  const spread = { repeat: 0, split: 0 };
  let tol = 0;

  async function direct(body: unknown): Promise<ScoreAnswer> {
    const r = await postScore(sglang, body);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text) as ScoreAnswer;
  }

  beforeAll(async () => {
    scorecar = await startScorecar([sglang]);
    // SGLang against itself: text and ids, both label modes, item_first, 10 items.
    const probes = [
      { query: Q, items: textItems(7, 10), label_token_ids: [YES, NO, 13] },
      { query: Q, items: textItems(8, 10), label_token_ids: [YES, NO], apply_softmax: true, item_first: true },
      { query: ids(16, 7), items: idItems(7, 10), label_token_ids: [YES, NO, 13] },
      { query: ids(16, 8), items: idItems(8, 10), label_token_ids: [YES, NO], apply_softmax: true, item_first: true },
    ];
    for (const p of probes) {
      const once = await direct(p);
      const twice = await direct(p);
      spread.repeat = Math.max(spread.repeat, maxRelDiff(once.scores, twice.scores));
      const rows: number[][] = [];
      for (const item of p.items) rows.push(...(await direct({ ...p, items: [item] })).scores);
      spread.split = Math.max(spread.split, maxRelDiff(once.scores, rows));
    }
    tol = Math.max(1e-6, spread.repeat, spread.split);
    process.stderr.write(`real SGLang against itself: repeat ${spread.repeat.toExponential(2)}, split ${spread.split.toExponential(2)}; via-vs-direct tolerance ${tol.toExponential(2)} (relative)\n`);
  });

  afterAll(async () => {
    await scorecar?.stop();
  });

  it(`SGLang direct agrees with itself within ${TOLERANCE_CEILING} (relative): repeated and split differently`, () => {
    expect(spread.repeat).toBeLessThan(TOLERANCE_CEILING);
    expect(spread.split).toBeLessThan(TOLERANCE_CEILING);
  });

  const all = cases();
  const firstVia = new Map<string, Raw>();
  it.each(all.map((c) => [c.name, c] as const))('%s: through scorecar equals direct within max(1e-6, measured spread)', async (_name, c) => {
    const d = await postScore(sglang, c.body);
    const v = await postScore(scorecar.url, c.body);
    firstVia.set(c.name, v);
    expectSameAnswer(v, d, tol, c.name);
  });

  it("an id body as Python's json.dumps writes it (', ', copied to SGLang as the client's bytes) scores as direct", async () => {
    for (const n of [1, 10]) {
      const body = pyDumps({ query: ids(14, 40 + n), items: idItems(40 + n, n), label_token_ids: [YES, NO], apply_softmax: true });
      expect(body).toContain(', ');
      const headers = { 'content-type': 'application/json' };
      const v = await send(`${scorecar.url}/v1/score`, 'POST', body, headers);
      const d = await send(`${sglang}/v1/score`, 'POST', body, headers);
      expectSameAnswer(v, d, tol, `python-style, ${n} items`);
    }
  });

  it('repeated requests answered from scorecar caches are identical (byte for byte) and still equal direct', async () => {
    const before = await scoreCacheHits(scorecar.url);
    for (const c of all) {
      const first = firstVia.get(c.name);
      expect(first, `${c.name} ran`).toBeDefined();
      const again = await postScore(scorecar.url, c.body);
      expect(again.text, `${c.name}: repeat`).toBe(first?.text);
      const d = await postScore(sglang, c.body);
      expectSameAnswer(again, d, tol, `${c.name} (repeat)`);
    }
    // The repeats were cache hits, not recomputed.
    const scored = all.filter((c) => (c.body.items as unknown[] | string).length !== 0).length;
    expect((await scoreCacheHits(scorecar.url)) - before).toBeGreaterThanOrEqual(scored);
  });

  it('P(yes) spreads widely over prompts, and changing one input id moves the score far more than any tolerance here', async () => {
    // Every tolerance in the real-SGLang suites is at most TOLERANCE_CEILING (common.ts). Moved
    // by the same measure as the tolerance (largest relative change over the row's labels),
    // every one-id change must move its item's scores 30x beyond that, the median 1000x.
    const query = ids(12, 31);
    const items = idItems(31, 4);
    const labels = { label_token_ids: [YES, NO], apply_softmax: true };
    const spreadOver = await direct({ query, items: idItems(31, 40), ...labels });
    const pYes = spreadOver.scores.map((r) => r[0] as number);
    expect(Math.min(...pYes)).toBeLessThan(0.1);
    expect(Math.max(...pYes)).toBeGreaterThan(0.9);

    const base = await direct({ query, items, ...labels });
    const moves: number[] = [];
    const variants: Array<{ query: number[]; items: number[][]; item: number | null }> = [];
    for (let pos = 0; pos < query.length; pos++) {
      const q = query.slice();
      q[pos] = (q[pos] as number) + 1;
      variants.push({ query: q, items, item: null });
    }
    for (let i = 0; i < items.length; i++) {
      const it2 = items.map((x) => x.slice());
      const row = it2[i] as number[];
      row[row.length - 1] = (row[row.length - 1] as number) + 1;
      variants.push({ query, items: it2, item: i });
    }
    for (const v of variants) {
      const body = { query: v.query, items: v.items, ...labels };
      const d = await direct(body);
      for (const [i, row] of d.scores.entries()) {
        if (v.item === null || v.item === i) moves.push(maxRelDiff([row], [base.scores[i] as number[]]));
      }
      // ...and through scorecar the changed prompt scores as SGLang scores it.
      expectSameAnswer(await postScore(scorecar.url, body), await postScore(sglang, body), tol, 'one id changed');
    }
    moves.sort((a, b) => a - b);
    const median = moves[Math.floor(moves.length / 2)] as number;
    process.stderr.write(`one-id change: relative move of the scores min ${moves[0]?.toExponential(2)}, median ${median.toExponential(2)} (${moves.length} changes)\n`);
    expect(moves[0]).toBeGreaterThan(30 * TOLERANCE_CEILING);
    expect(median).toBeGreaterThan(1000 * TOLERANCE_CEILING);
  });
});

async function scoreCacheHits(url: string): Promise<number> {
  const stats = JSON.parse((await call(url + '/scorecar/stats', 'GET')).text) as { score_cache: { hits: number } };
  return stats.score_cache.hits;
}
