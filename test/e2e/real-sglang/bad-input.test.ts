import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRealSglang } from '../../support/real-sglang.js';
import { type Proc, startScorecar } from '../harness.js';
import { type Raw, TOLERANCE_CEILING, expectSameAnswer, normaliseInstallPath, send } from './common.js';

/**
 * Every /v1/score request of test/fixtures/sglang-cases.mjs (malformed JSON, no and wrong content
 * type, wrong types, missing fields, labels out of vocabulary and negative, prompts over the
 * context length, empty, null and non-object bodies, lax coercions, extra fields...) sent to the
 * live real SGLang server and through scorecar in front of it, byte for byte as recorded: the
 * status, content type and body must be SGLang's. Error bodies are byte-compared, except the
 * install path inside FastAPI's validation messages (`File "<path>/sglang/srt/entrypoints/
 * http_server.py"`), which is normalised on both sides (common.ts). Accepted requests are
 * compared as in score.test.ts (scores within TOLERANCE_CEILING, see SCORE_TOL).
 *
 * The fixture replay (test/sglang/) holds scorecar to a recording; this holds it to the server.
 */
interface Exchange {
  name: string;
  request: { method?: string; path: string; headers?: Record<string, string>; body?: unknown; bodyBase64?: string };
  response: { status: number };
}

const FIXTURES = JSON.parse(readFileSync(new URL('../../fixtures/sglang-0.5.23/exchanges.json', import.meta.url), 'utf8')) as { exchanges: Exchange[] };
const CASES = FIXTURES.exchanges.filter((e) => e.request.path === '/v1/score');

/**
 * Deliberate differences, each documented in the README: SGLang answers 500 (plain text) to a
 * body nested 1,000 deep (pydantic recurses past Python's limit); scorecar refuses it with a 400.
 */
const DIFFERENT: Record<string, { status: number }> = {
  'deep nesting 1000': { status: 400 },
};

/**
 * Relative score tolerance for the accepted cases: the ceiling score.test.ts holds SGLang's
 * measured spread against itself to (it measures 2e-6 to 1.2e-5 from run to run).
 */
const SCORE_TOL = TOLERANCE_CEILING;

function sendCase(base: string, e: Exchange): Promise<Raw> {
  const r = e.request;
  const body = r.bodyBase64 !== undefined ? Buffer.from(r.bodyBase64, 'base64') : r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return send(base + r.path, r.method ?? 'POST', body, r.headers ?? {}, true);
}

describeRealSglang('scorecar in front of real SGLang: bad and odd /v1/score inputs answered as SGLang answers them', (sglang) => {
  let scorecar: Proc;
  beforeAll(async () => {
    scorecar = await startScorecar([sglang]);
  });
  afterAll(async () => {
    await scorecar?.stop();
  });

  it('covers the kinds of bad input the issue lists', () => {
    const names = CASES.map((c) => c.name).join('\n');
    for (const kind of [/^malformed/m, /^no content type/m, /^text\/plain/m, /^query number/m, /^missing labels/m, /^missing items/m, /^label far out of vocabulary/m, /^label negative/m, /^prompt over context length/m, /^empty body/m, /^null body/m]) {
      expect(names).toMatch(kind);
    }
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const d = await sendCase(sglang, c);
    const v = await sendCase(scorecar.url, c);
    const diff = DIFFERENT[name];
    if (diff !== undefined) {
      expect(d.status, `SGLang still answers ${name} differently`).not.toBe(diff.status);
      expect(v.status).toBe(diff.status);
      expect(JSON.parse(v.text)).toMatchObject({ object: 'error', param: null, code: diff.status });
      return;
    }
    expectSameAnswer(v, d, SCORE_TOL, name);
    if (d.status !== 200) expect(normaliseInstallPath(v.text)).toBe(normaliseInstallPath(d.text));
  });

  it('the real server is still healthy after all of them', async () => {
    expect((await send(sglang + '/health', 'GET')).status).toBe(200);
  });
});
