import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pyDumps } from '../support/py-dumps.js';
import { type Proc, type Reply, call, startEmulator, startScorecar } from './harness.js';

/**
 * POST /v1/score through the H1 front (the default) and through node:http (--no-score-front)
 * answers byte for byte alike: the same status, body and header names for good requests and for
 * every kind of refusal, whichever of the two serves it.
 */
let emulator: Proc;
let front: Proc;
let node: Proc;
const ARGS = ['--api-key', 'k', '--max-items', '50', '--max-body-bytes', '65536', '--score-cache', 'off'];

beforeAll(async () => {
  emulator = await startEmulator();
  [front, node] = await Promise.all([startScorecar([emulator.url], ARGS), startScorecar([emulator.url], [...ARGS, '--no-score-front'])]);
});

afterAll(async () => {
  await front?.stop();
  await node?.stop();
  await emulator?.stop();
});

const KEY = { authorization: 'Bearer k' };
const ids = (n: number, k: number): number[] => Array.from({ length: n }, (_, i) => 100 + ((i * 31 + k * 7) % 5000));
const IDS = { query: ids(20, 1), items: [ids(30, 2), ids(25, 3), ids(12, 4)], label_token_ids: [9693, 2152], apply_softmax: true };

const CASES: [string, string | Buffer, Record<string, string>][] = [
  ['ids', JSON.stringify(IDS), KEY],
  ['ids as Python writes them', pyDumps(IDS), KEY],
  ['text', JSON.stringify({ query: 'python jobs\n', items: ['Python engineer', 'Chef'], label_token_ids: [9693, 2152] }), KEY],
  ['a request id', JSON.stringify(IDS), { ...KEY, 'x-request-id': 'front-parity-1' }],
  ['a deadline and a priority', JSON.stringify(IDS), { ...KEY, 'x-scorecar-deadline-ms': '5000', 'x-scorecar-priority': 'nearline' }],
  ['a bad deadline', JSON.stringify(IDS), { ...KEY, 'x-scorecar-deadline-ms': 'soon' }],
  ['bad JSON', '{"query":[1,2', KEY],
  ['a text content type', JSON.stringify(IDS), { ...KEY, 'content-type': 'text/plain' }],
  ['too many items', JSON.stringify({ ...IDS, items: Array.from({ length: 60 }, (_, k) => ids(3, k)) }), KEY],
  ['a label outside the vocabulary', JSON.stringify({ ...IDS, label_token_ids: [9693, 99_999_999] }), KEY],
  ['no key', JSON.stringify(IDS), {}],
  ['a wrong key', JSON.stringify(IDS), { authorization: 'Bearer nope' }],
  ['a body over --max-body-bytes', JSON.stringify({ ...IDS, pad: 'x'.repeat(70_000) }), KEY],
];

/** What may differ between two answers: the date, the scorecar timings, and generated request ids. */
function comparable(r: Reply): { status: number; body: string; headers: string[]; requestId: unknown } {
  const generated = typeof r.headers['x-request-id'] === 'string' && r.headers['x-request-id'].startsWith('sc-');
  return { status: r.status, body: r.text, headers: Object.keys(r.headers).sort(), requestId: generated ? 'generated' : r.headers['x-request-id'] };
}

describe('the H1 front and node:http answer POST /v1/score alike', () => {
  it.each(CASES)('%s', async (_what, body, headers) => {
    const [a, b] = await Promise.all([front, node].map((p) => call(`${p.url}/v1/score`, 'POST', body, { 'content-type': 'application/json', ...headers })));
    expect(comparable(a as Reply)).toEqual(comparable(b as Reply));
  });

  it('serves other routes on the same server, and still scores afterwards', async () => {
    for (const p of [front, node]) {
      expect((await call(`${p.url}/health`, 'GET')).status).toBe(200);
      const r = await call(`${p.url}/v1/score`, 'POST', JSON.stringify(IDS), KEY);
      expect(r.status, r.text).toBe(200);
    }
  });
});
