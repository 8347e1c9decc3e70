import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCORE_CASES } from '../fixtures/sglang-cases.mjs';
import { realSglangUrl, venvPython } from '../support/python.js';
import { type Proc, startScorecar } from './harness.js';

/**
 * scorecar in front of a real SGLang (the pinned release on CPU with the tiny Qwen3 of
 * patches/cpu/tiny_model.py), against the same server sent to directly. `npm test` starts the
 * server once for the run and passes its URL as SCORECAR_REAL_SGLANG_URL.
 *
 * Tolerances are measured, not assumed: SGLang's own spread (the same request twice, and the
 * same items split into other calls) bounds via-vs-direct, floored at 1e-6 (relative).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const URL_ = realSglangUrl();
const REQUIRED = process.env.CI === 'true' && !existsSync(`${ROOT}/BLOCKED-sglang.md`);
const YES_NO = [9693, 2152];

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  bodyBase64?: string;
}
interface Answer {
  status: number;
  body: string;
}

async function send(base: string, c: Case): Promise<Answer> {
  const body =
    c.bodyBase64 !== undefined ? Buffer.from(c.bodyBase64, 'base64') : c.body !== undefined ? Buffer.from(typeof c.body === 'string' ? c.body : JSON.stringify(c.body)) : undefined;
  const r = await request(base + c.path, { method: (c.method ?? 'POST') as 'POST', headers: c.headers ?? {}, body });
  return { status: r.statusCode, body: await r.body.text() };
}

async function score(base: string, body: unknown): Promise<{ scores: number[][]; usage: unknown }> {
  const r = await send(base, { name: '', path: '/v1/score', headers: { 'content-type': 'application/json' }, body });
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as { scores: number[][]; usage: unknown };
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

function maxRelDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, relDiff(v, (b[i] as number[])[j] as number)))));
  return m;
}

const ids = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => ((seed * 7919 + i * 104729) % 150000) + 10);

describe.runIf(URL_ !== null || REQUIRED)('scorecar in front of the real SGLang on CPU', () => {
  const direct = URL_ as string;
  let via: Proc;
  let viaCached: Proc;
  let tol = 1e-6;

  beforeAll(async () => {
    if (URL_ === null) throw new Error('SCORECAR_REAL_SGLANG_URL is not set: npm test starts the real SGLang server (or commit BLOCKED-sglang.md)');
    via = await startScorecar([direct], ['--score-cache', 'off', '--coalesce-window-ms', '0']);
    viaCached = await startScorecar([direct], ['--coalesce-window-ms', '0']);
  }, 120_000);

  afterAll(async () => {
    await via?.stop();
    await viaCached?.stop();
  });

  it("measures SGLang's own spread (same request twice; the same items in other calls) to set the tolerance", async () => {
    const items = Array.from({ length: 12 }, (_, i) => ids(5 + (i % 9), 40 + i));
    const body = { query: ids(30, 3), items, label_token_ids: YES_NO, apply_softmax: true };
    const a = await score(direct, body);
    const b = await score(direct, body);
    const byFour: number[][] = [];
    for (let k = 0; k < items.length; k += 4) byFour.push(...(await score(direct, { ...body, items: items.slice(k, k + 4) })).scores);
    const alone: number[][] = [];
    for (const item of items) alone.push(...(await score(direct, { ...body, items: [item] })).scores);
    // Text: the same prompts as text, tokenized by SGLang, against their ids.
    const textBody = { query: '<|im_start|>user\nQuery: spread\n', items: ['Title: a', 'Title: b c', 'Title: d e f'], label_token_ids: YES_NO };
    const t1 = await score(direct, textBody);
    const t2 = await score(direct, { ...textBody, items: textBody.items.slice(0, 1) });
    const spread = Math.max(maxRelDiff(a.scores, b.scores), maxRelDiff(a.scores, byFour), maxRelDiff(a.scores, alone), maxRelDiff(t1.scores.slice(0, 1), t2.scores));
    tol = Math.max(1e-6, spread);
    process.stdout.write(`real SGLang self-spread ${spread.toExponential(2)} (relative); via-vs-direct tolerance ${tol.toExponential(2)}\n`);
    expect(spread).toBeLessThan(1e-3);
  });

  it('changing one input id moves the score by far more than that tolerance', async () => {
    const q = ids(20, 5);
    const base = await score(direct, { query: q, items: [ids(10, 6)], label_token_ids: YES_NO, apply_softmax: true });
    const other = ids(10, 6);
    other[9] = (other[9] as number) + 1;
    const moved = await score(direct, { query: q, items: [other], label_token_ids: YES_NO, apply_softmax: true });
    expect(relDiff(base.scores[0]![0]!, moved.scores[0]![0]!)).toBeGreaterThan(1000 * tol);
  });

  // Every recorded /v1/score case (test/fixtures/sglang-cases.mjs): text and ids, item_first,
  // 1-3 labels, softmax both ways, empty items, a single string item, 1-50 items, the fields
  // scorecar sends as is, and the refused ones (malformed JSON, content types, wrong types,
  // missing fields, labels out of vocabulary and negative, over-long prompts, empty and null
  // bodies). Refusals are compared byte for byte: scorecar reads the backend's install path for
  // FastAPI's endpoint line from the backend itself, so nothing needs normalising.
  const cases = (SCORE_CASES as Case[]).filter((c) => c.name !== 'deep nesting 1000');

  it(`answers all ${cases.length} recorded /v1/score cases as SGLang direct does`, async () => {
    const wrong: string[] = [];
    for (const c of cases) {
      // Direct, via, direct again: SGLang's radix cache makes a repeat differ from a fresh prompt
      // by its self-spread, so via is held to the nearer of the two direct answers.
      const [d, v, d2] = [await send(direct, c), await send(via.url, c), await send(direct, c)];
      if (d.status !== v.status) {
        wrong.push(`${c.name}: status ${v.status} != ${d.status}: ${v.body.slice(0, 200)}`);
        continue;
      }
      if (d.status !== 200) {
        if (d.body !== v.body) wrong.push(`${c.name}: body\n  via    ${v.body.slice(0, 300)}\n  direct ${d.body.slice(0, 300)}`);
        continue;
      }
      const x = JSON.parse(d.body) as Record<string, unknown>;
      const y = JSON.parse(v.body) as Record<string, unknown>;
      for (const k of ['usage', 'object', 'model', 'pooled_hidden_states']) {
        if (JSON.stringify(x[k]) !== JSON.stringify(y[k])) wrong.push(`${c.name}: ${k} ${JSON.stringify(y[k])} != ${JSON.stringify(x[k])}`);
      }
      if (JSON.stringify(Object.keys(x)) !== JSON.stringify(Object.keys(y))) wrong.push(`${c.name}: keys ${Object.keys(y)} != ${Object.keys(x)}`);
      const x2 = JSON.parse(d2.body) as Record<string, unknown>;
      const diff = Math.min(maxRelDiff(x.scores as number[][], y.scores as number[][]), maxRelDiff(x2.scores as number[][], y.scores as number[][]));
      if (!(diff <= tol)) wrong.push(`${c.name}: scores differ by ${diff.toExponential(2)} > ${tol.toExponential(2)}`);
    }
    expect(wrong.join('\n'), `${wrong.length} of ${cases.length} differ`).toBe('');
  }, 300_000);

  it("answers repeats from scorecar's caches with the same scores and usage", async () => {
    const ok = cases.filter((c) => /^(text|ids), /.test(c.name));
    expect(ok.length).toBeGreaterThan(5);
    for (const c of ok) {
      const d = JSON.parse((await send(direct, c)).body) as { scores: number[][]; usage: unknown };
      const first = await send(viaCached.url, c);
      const again = await send(viaCached.url, c);
      expect(again.status, c.name).toBe(200);
      const y = JSON.parse(again.body) as { scores: number[][]; usage: unknown };
      expect(y.usage, c.name).toEqual(d.usage);
      expect(again.body, c.name).toBe(first.body);
      expect(maxRelDiff(d.scores, y.scores), c.name).toBeLessThanOrEqual(tol);
    }
  }, 300_000);

  it('passes /generate, /v1/models, /tokenize and /server_info through unchanged, and its tokenizer check says match', async () => {
    const same = async (c: Case, volatile: RegExp | null): Promise<void> => {
      const [d, v] = [await send(direct, c), await send(via.url, c)];
      expect(v.status, c.path).toBe(d.status);
      const clean = (s: string): string => (volatile ? s.replace(volatile, '') : s);
      expect(clean(v.body), c.path).toBe(clean(d.body));
    };
    const J = { 'content-type': 'application/json' };
    await same({ name: '', method: 'GET', path: '/v1/models' }, /"created":\d+/g);
    await same({ name: '', path: '/tokenize', headers: J, body: { prompt: 'remote python jobs' } }, null);
    await same(
      { name: '', path: '/generate', headers: J, body: { input_ids: ids(8, 9), sampling_params: { max_new_tokens: 2, temperature: 0 } } },
      /"(id|e2e_latency|response_sent_to_client_ts|cached_tokens|cached_tokens_details)":("[^"]*"|[\d.e-]+|\{[^}]*\}|null)/g,
    );
    const [d, v] = [await send(direct, { name: '', method: 'GET', path: '/server_info' }), await send(via.url, { name: '', method: 'GET', path: '/server_info' })];
    expect(Object.keys(JSON.parse(v.body) as object)).toEqual(Object.keys(JSON.parse(d.body) as object));
    const stats = (await (await request(`${via.url}/scorecar/stats`)).body.json()) as { backends: Array<{ tokenizer: string }> };
    expect(stats.backends[0]?.tokenizer).toBe('match');
  });

  it('agrees with a transformers forward of the same model (P(label) at the last token) within a measured tolerance', async () => {
    const model = execFileSync('bash', ['patches/cpu/model.sh'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const Q = '<|im_start|>user\nQuery: remote python jobs\n';
    const items = ['Title: Senior Python Engineer (remote)', 'Title: Pastry Chef, Lyon', 'Title: Data engineer, Spark'];
    const prompts = [...items.map((t) => ({ text: Q + t })), { ids: [...ids(15, 2), ...ids(7, 3)] }];
    const ref = await new Promise<{ softmax: number[][]; prob: number[][] }>((resolve, reject) => {
      const child = spawn(venvPython(), ['test/python/reference_scores.py', model], { cwd: ROOT });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reference exited ${code}: ${err.slice(-2000)}`))));
      child.stdin.end(JSON.stringify({ prompts, labels: YES_NO }));
    });
    const text = { query: Q, items, label_token_ids: YES_NO };
    const idsBody = { query: ids(15, 2), items: [ids(7, 3)], label_token_ids: YES_NO };
    let worst = 0;
    for (const base of [direct, via.url]) {
      const soft = [...(await score(base, { ...text, apply_softmax: true })).scores, ...(await score(base, { ...idsBody, apply_softmax: true })).scores];
      const prob = [...(await score(base, text)).scores, ...(await score(base, idsBody)).scores];
      worst = Math.max(worst, maxRelDiff(soft, ref.softmax), maxRelDiff(prob, ref.prob));
    }
    process.stdout.write(`real SGLang (direct and via scorecar) vs transformers: max relative difference ${worst.toExponential(2)}\n`);
    // float32 on both sides, different kernels (torch_native attention vs eager): 1e-4 relative.
    expect(worst).toBeLessThan(1e-4);
  }, 180_000);
  // Last: if scorecar let such an id through, it would take the shared server down.
  it('refuses input ids outside [0, vocab) with a 400 in SGLang\'s envelope, and never sends them (SGLang does not check them)', async () => {
    for (const bad of [-1, 151936, 2 ** 31]) {
      const r = await send(via.url, { name: '', path: '/v1/score', headers: { 'content-type': 'application/json' }, body: { query: [1, 2], items: [[3, bad]], label_token_ids: YES_NO } });
      expect(r.status, String(bad)).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
    }
    // The server is still healthy afterwards.
    expect((await request(`${direct}/health`)).statusCode).toBe(200);
  });

});
