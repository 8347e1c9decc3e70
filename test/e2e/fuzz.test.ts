import { Client, type ServiceError, credentials, status as Status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_SCORE, pb } from '../../src/api/grpc/messages.js';
import { type Proc, REJECTION_MARK, call, startEmulator, startScorecarWithGrpc } from './harness.js';

/**
 * 20,000 bodies per run: fast-check-generated JSON and byte mutations of valid bodies, on
 * /v1/score (8,000), /rank (6,000) and gRPC Score (6,000). Zero 5xx (gRPC: no INTERNAL or
 * UNKNOWN), no crash, and every HTTP 4xx in SGLang's error envelope. Seeded: a failure replays.
 */
let emulator: Proc;
let scorecar: Proc & { grpc: string };
const SEED = 13;

beforeAll(async () => {
  emulator = await startEmulator();
  scorecar = await startScorecarWithGrpc([emulator.url], ['--max-items', '200']);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
  expect(scorecar?.output() ?? '').not.toContain(REJECTION_MARK);
  expect(scorecar?.output() ?? '').not.toContain('unhandled promise rejection');
});

const VALID_SCORE = [
  { query: 'python jobs\n', items: ['Python engineer', 'Chef'], label_token_ids: [9693, 2152], apply_softmax: true },
  { query: [1, 2, 3], items: [[4, 5], [6]], label_token_ids: [9693, 2152] },
  { query: 'q', items: 'one item', label_token_ids: [9693], item_first: true, model: 'm' },
];
const VALID_RANK = [
  { query: 'welder', items: [{ id: 'a', text: 'MIG welder' }, { id: 'b', ids: [5, 6] }], top_k: 1 },
  { query: [1, 2], items: [{ id: 'x', fields: { title: 'Chef', remote: true } }], depth: 3, priority: 'nearline' },
];

/** A random byte mutation of a body: flip, insert, delete, duplicate or truncate. */
function mutate(b: Buffer, rnd: () => number): Buffer {
  const out = Array.from(b);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n && out.length > 0; k++) {
    const at = Math.floor(rnd() * out.length);
    const op = Math.floor(rnd() * 5);
    if (op === 0) out[at] = Math.floor(rnd() * 256);
    else if (op === 1) out.splice(at, 0, '[]{}",:-0123456789eE.\\ntfu'.charCodeAt(Math.floor(rnd() * 26)));
    else if (op === 2) out.splice(at, 1);
    else if (op === 3) out.splice(at, 0, ...out.slice(at, at + Math.floor(rnd() * 16)));
    else out.length = at;
  }
  return Buffer.from(out);
}

function mulberry(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n bodies for a route: half generated JSON (fields of the right names, values of any shape), half mutations. */
function bodies(n: number, valid: readonly object[], keys: readonly string[], seed: number): Buffer[] {
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.array(fc.integer({ min: -5, max: 2 ** 31 + 5 }), { maxLength: 6 }), { maxLength: 6 }), fc.array(fc.string(), { maxLength: 6 }));
  const gen = fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: keys.length });
  const generated = fc.sample(gen, { numRuns: Math.ceil(n / 2), seed }).map((v): Buffer => Buffer.from(JSON.stringify(v)));
  const rnd = mulberry(seed);
  const out: Buffer[] = generated;
  while (out.length < n) out.push(mutate(Buffer.from(JSON.stringify(valid[out.length % valid.length])), rnd));
  return out;
}

async function fuzzHttp(path: string, list: Buffer[]): Promise<Record<number, number>> {
  const pool = new Pool(scorecar.url, { connections: 32 });
  const byStatus: Record<number, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const body = list[next++] as Buffer;
      const r = await pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const text = await r.body.text();
      byStatus[r.statusCode] = (byStatus[r.statusCode] ?? 0) + 1;
      expect(r.statusCode, `${path} ${body.toString('latin1').slice(0, 300)} -> ${text.slice(0, 300)}`).toBeLessThan(500);
      if (r.statusCode >= 400) {
        const e = JSON.parse(text) as Record<string, unknown>;
        expect(e, text).toMatchObject({ object: 'error', message: expect.any(String), type: expect.any(String), param: null, code: r.statusCode });
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await pool.close();
  return byStatus;
}

describe('fuzzing', () => {
  it('/v1/score: 8,000 bodies, no 5xx, every 4xx in the envelope', async () => {
    const s = await fuzzHttp('/v1/score', bodies(8000, VALID_SCORE, ['query', 'items', 'label_token_ids', 'apply_softmax', 'item_first', 'model', 'x'], SEED));
    expect(Object.values(s).reduce((a, b) => a + b, 0)).toBe(8000);
    expect(s[200] ?? 0).toBeGreaterThan(0);
    expect(s[400] ?? 0).toBeGreaterThan(0);
  }, 240_000);

  it('/rank: 6,000 bodies, no 5xx, every 4xx in the envelope', async () => {
    const s = await fuzzHttp('/rank', bodies(6000, VALID_RANK, ['query', 'items', 'top_k', 'depth', 'template', 'priority', 'deadline_ms'], SEED + 1));
    expect(Object.values(s).reduce((a, b) => a + b, 0)).toBe(6000);
    expect(s[200] ?? 0).toBeGreaterThan(0);
  }, 240_000);

  it('gRPC Score: 6,000 mutated messages, no INTERNAL or UNKNOWN', async () => {
    const valid = [
      pb.ScoreRequest.encode({ queryText: 'python jobs', itemTexts: { texts: ['Python engineer', 'Chef'] }, labelTokenIds: [9693, 2152] }).finish(),
      pb.ScoreRequest.encode({ queryIds: { ids: [1, 2, 3] }, itemPackedIds: { ids: [4, 5, 6], lengths: [2, 1] }, labelTokenIds: [9693] }).finish(),
      pb.ScoreRequest.encode({ queryIds: { ids: [1] }, itemIds: { items: [{ ids: [7, 8] }] }, labelTokenIds: [9693, 2152], applySoftmax: true }).finish(),
    ].map((u) => Buffer.from(u));
    const rnd = mulberry(SEED + 2);
    const client = new Client(scorecar.grpc, credentials.createInsecure());
    const codes: Record<number, number> = {};
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 6000) {
        const msg = mutate(valid[next % valid.length] as Buffer, rnd);
        next++;
        const code = await new Promise<number>((resolve) => {
          client.makeUnaryRequest(
            METHOD_SCORE,
            (b: Buffer) => b,
            (b: Buffer) => b,
            msg,
            (e: ServiceError | null) => resolve(e ? e.code : Status.OK),
          );
        });
        codes[code] = (codes[code] ?? 0) + 1;
        expect([Status.INTERNAL, Status.UNKNOWN], `message ${msg.toString('hex')}`).not.toContain(code);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    client.close();
    expect(Object.values(codes).reduce((a, b) => a + b, 0)).toBe(6000);
    expect(codes[Status.OK] ?? 0).toBeGreaterThan(0);
    expect(codes[Status.INVALID_ARGUMENT] ?? 0).toBeGreaterThan(0);
  }, 240_000);

  it('is still serving afterwards', async () => {
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(200);
    const r = await call(scorecar.url + '/v1/score', 'POST', JSON.stringify(VALID_SCORE[0]));
    expect(r.status).toBe(200);
  });
});
