import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, venvPython } from '../../support/python.js';
import { describeRealSglang } from '../../support/real-sglang.js';
import { type Proc, startScorecar } from '../harness.js';
import { NO, type ScoreAnswer, TOLERANCE_CEILING, YES, maxRelDiff, postScore, send } from './common.js';

/**
 * The numerical reference: a plain transformers forward (test/python/reference_scores.py, in the
 * project venv, CPU, float32) of the same tiny Qwen3 folder the real server loads, one prompt at a
 * time, gives P(label) at the last token: over the whole vocabulary (apply_softmax false) and
 * softmaxed over the label set (apply_softmax true). The prompts' ids are built in Python with the
 * HF tokenizer from the model folder, independently of scorecar's tokenizer and join rules.
 *
 * SGLang direct and scorecar in front of it must agree with the reference within REFERENCE_TOL
 * (relative to the larger value), for text requests (SGLang joins query and item as text) and
 * for id requests (query ids + item ids). Measured here on the tiny model (16 prompts, text and
 * ids): SGLang's CPU path (torch_native attention) differs from transformers' by up to 4.8e-5
 * relative on the raw probabilities (a 4.8e-5 difference in the label's log-probability) and by
 * 2e-6 to 4e-6 after the label softmax, through scorecar the same; the bound is 1e-4 (2x the
 * largest). Each run prints its own figures.
 */
const REFERENCE_TOL = TOLERANCE_CEILING;

const QUERIES = ['<|im_start|>user\nQuery: remote python jobs\n', 'Is this review positive? '];
const ITEMS = ['Title: Senior Python Engineer (remote)', 'Title: Pastry Chef, Lyon', 'Great value, would buy again 🙂', ' Zürich – 机器学习工程师\n'];
const LABELS = [YES, NO];

interface RefScores {
  ids: number[];
  raw: number[];
  softmax: number[];
  query_ids?: number[];
  item_ids?: number[];
}
interface Reference {
  torch: string;
  cases: Array<{ text: RefScores; ids: RefScores }>;
}
interface RefCase {
  query: string;
  item: string;
  item_first: boolean;
}

function runPython(script: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython(), [join(ROOT, script)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

describeRealSglang('real SGLang and scorecar against a transformers forward of the same model', (sglang) => {
  let scorecar: Proc;
  let ref: Reference;
  const cases: RefCase[] = [];
  for (const query of QUERIES) for (const item_first of [false, true]) for (const item of ITEMS) cases.push({ query, item, item_first });
  const worst = { direct: { raw: 0, softmax: 0 }, via: { raw: 0, softmax: 0 } };

  beforeAll(async () => {
    scorecar = await startScorecar([sglang]);
    // The folder the server itself loaded.
    const info = JSON.parse((await send(sglang + '/server_info', 'GET')).text) as { model_path: string };
    ref = JSON.parse(await runPython('test/python/reference_scores.py', JSON.stringify({ model_dir: info.model_path, labels: LABELS, cases }))) as Reference;
    expect(ref.cases).toHaveLength(cases.length);
  });
  afterAll(async () => {
    await scorecar?.stop();
    process.stderr.write(
      `transformers reference vs real SGLang: raw ${worst.direct.raw.toExponential(2)}, softmax ${worst.direct.softmax.toExponential(2)}; ` +
        `vs scorecar: raw ${worst.via.raw.toExponential(2)}, softmax ${worst.via.softmax.toExponential(2)} (relative; bound ${REFERENCE_TOL})\n`,
    );
  });

  /** One request per (query, item_first): all four items at once. */
  function groups(): Array<{ name: string; idx: number[]; query: string; item_first: boolean }> {
    const out: Array<{ name: string; idx: number[]; query: string; item_first: boolean }> = [];
    for (const [q, query] of QUERIES.entries()) {
      for (const item_first of [false, true]) {
        const idx = cases.flatMap((c, i) => (c.query === query && c.item_first === item_first ? [i] : []));
        out.push({ name: `query ${q}, item_first ${item_first}`, idx, query, item_first });
      }
    }
    return out;
  }

  async function check(mode: 'text' | 'ids', softmax: boolean): Promise<void> {
    const kind = softmax ? 'softmax' : 'raw';
    for (const g of groups()) {
      const want = g.idx.map((i) => (ref.cases[i] as { text: RefScores; ids: RefScores })[mode][kind]);
      let body: Record<string, unknown>;
      if (mode === 'text') {
        body = { query: g.query, items: g.idx.map((i) => (cases[i] as RefCase).item), label_token_ids: LABELS, apply_softmax: softmax, item_first: g.item_first };
      } else {
        // The reference's own ids: the query's and each item's, tokenized alone by the HF tokenizer.
        const queryIds = (ref.cases[g.idx[0] as number] as { ids: RefScores }).ids.query_ids;
        const itemIds = g.idx.map((i) => (ref.cases[i] as { ids: RefScores }).ids.item_ids);
        body = { query: queryIds, items: itemIds, label_token_ids: LABELS, apply_softmax: softmax, item_first: g.item_first };
      }
      for (const [who, base] of [['direct', sglang], ['via', scorecar.url]] as const) {
        const r = await postScore(base, body);
        expect(r.status, r.text).toBe(200);
        const got = (JSON.parse(r.text) as ScoreAnswer).scores;
        const d = maxRelDiff(got, want);
        worst[who][kind] = Math.max(worst[who][kind], d);
        expect.soft(d, `${who === 'direct' ? 'SGLang direct' : 'scorecar'}, ${mode}, ${kind}, ${g.name}`).toBeLessThanOrEqual(REFERENCE_TOL);
      }
    }
  }

  it.each([
    ['text', false],
    ['text', true],
    ['ids', false],
    ['ids', true],
  ] as const)('%s requests, apply_softmax %s: SGLang direct and scorecar equal the transformers reference within the stated tolerance', async (mode, softmax) => {
    await check(mode, softmax);
  });

  it('the reference differs between prompts by far more than its tolerance (it is not a constant)', () => {
    const p = ref.cases.map((c) => c.text.softmax[0] as number);
    expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(0.1);
  });
});
