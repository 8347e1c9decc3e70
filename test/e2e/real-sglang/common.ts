import { request } from 'undici';
import { expect } from 'vitest';

/** Helpers shared by the suites that put scorecar in front of the real CPU SGLang server. */

export interface Raw {
  status: number;
  contentType: string;
  text: string;
}

/** Sends exactly these bytes and headers (no default content type), as a client would. */
export async function send(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}, fresh = false): Promise<Raw> {
  // fresh: a connection of its own, closed after the answer. A server may close a connection
  // after some error answers; reusing it for the next case would race that close (ECONNRESET).
  const r = await request(url, { method: method as 'POST', body, headers, reset: fresh });
  const text = Buffer.from(await r.body.arrayBuffer()).toString('utf8');
  return { status: r.statusCode, contentType: String(r.headers['content-type'] ?? ''), text };
}

export function postScore(base: string, body: unknown): Promise<Raw> {
  return send(base + '/v1/score', 'POST', JSON.stringify(body), { 'content-type': 'application/json' });
}

export interface ScoreAnswer {
  scores: number[][];
  usage: { prompt_tokens: number; total_tokens: number };
  model: string;
  object: string;
  [key: string]: unknown;
}

/** |a - b| relative to the larger magnitude (0 when both are 0). */
export function relDiff(a: number, b: number): number {
  const m = Math.max(Math.abs(a), Math.abs(b));
  return m === 0 ? 0 : Math.abs(a - b) / m;
}

/** The largest relative difference between two score matrices of the same shape. */
export function maxRelDiff(a: number[][], b: number[][]): number {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length));
  let worst = 0;
  for (const [i, row] of a.entries()) for (const [j, x] of row.entries()) worst = Math.max(worst, relDiff(x, (b[i] as number[])[j] as number));
  return worst;
}

/**
 * FastAPI's validation messages name the file that raised them (`File "<install path>/sglang/
 * srt/entrypoints/http_server.py", line N`): the install path differs between machines, so it
 * is replaced by a fixed token on both sides before bodies are byte-compared. Nothing else is.
 */
const INSTALL_PATH = /File \\?"[^"\\]*\/sglang\/srt\/entrypoints\/http_server\.py\\?"/g;
export function normaliseInstallPath(body: string): string {
  return body.replace(INSTALL_PATH, 'File "<sglang>/sglang/srt/entrypoints/http_server.py"');
}

/**
 * scorecar's answer must be SGLang's: the same status and content type, the same keys in the same
 * order, `usage`, `object`, `model` and every other field identical, and each score (and each
 * token logprob, when asked for: model outputs too, which move by float32 ulps between SGLang's
 * batches) within `tol` (relative) of SGLang's. Error bodies are byte-compared (install path
 * normalised).
 */
export function expectSameAnswer(via: Raw, direct: Raw, tol: number, what: string): void {
  expect(via.status, `${what}: status (body via scorecar: ${via.text.slice(0, 300)})`).toBe(direct.status);
  expect(via.contentType, `${what}: content type`).toBe(direct.contentType);
  if (direct.status !== 200) {
    expect(normaliseInstallPath(via.text), `${what}: error body`).toBe(normaliseInstallPath(direct.text));
    return;
  }
  const v = JSON.parse(via.text) as ScoreAnswer;
  const d = JSON.parse(direct.text) as ScoreAnswer;
  // Soft: a failing case reports every way it differs, not only the first.
  expect.soft(Object.keys(v), `${what}: keys`).toEqual(Object.keys(d));
  expect.soft({ ...v, scores: null, token_logprobs: null }, `${what}: every field but the model's outputs`).toEqual({ ...d, scores: null, token_logprobs: null });
  expect.soft(maxRelDiff(v.scores, d.scores), `${what}: scores (relative difference)`).toBeLessThanOrEqual(tol);
  const [vl, dl] = [v.token_logprobs, d.token_logprobs];
  if (Array.isArray(vl) && Array.isArray(dl)) expect.soft(maxRelDiff(vl, dl), `${what}: token_logprobs (relative difference)`).toBeLessThanOrEqual(tol);
  else expect.soft(vl, `${what}: token_logprobs`).toEqual(dl);
}

/** Deterministic token ids in [10, 150010): plain vocabulary, no special tokens. */
export function ids(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => ((seed * 7919 + i * 104729) % 150000) + 10);
}

export const YES = 9693;
export const NO = 2152;
export const LABEL_SETS: number[][] = [[YES], [YES, NO], [YES, NO, 13]];

/**
 * No tolerance in the real-SGLang suites exceeds this (relative): SGLang's measured spread
 * against itself must stay under it, and so must the transformers reference's measured
 * difference. The one-id sensitivity test shows scores move far beyond it.
 */
export const TOLERANCE_CEILING = 1e-4;
