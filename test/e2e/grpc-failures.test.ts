import { Client, Metadata, type ServiceError, credentials, makeGenericClientConstructor, status as Status } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Priority, type RankRequestInit, type ScoreRequestInit, ScorerClient, ScorerError, packTokenIds } from '../../src/client/index.js';
import { type Proc, call, postJson, startEmulator, startScorecarWithGrpc } from './harness.js';

/**
 * Every way a gRPC request can fail, end to end: each failure reaches the client as the status the
 * proto documents, with scorecar's message and a retry hint where one applies. The emulator takes
 * 150 ms per prefill step and scorecar admits 4 tokens at a time, so deadlines bite quickly.
 */
const KEY = 'grpc-test-key';
const procs: Proc[] = [];
let emulator: Proc;
let scorecar: Proc & { grpc: string };
let client: ScorerClient;

beforeAll(async () => {
  emulator = await startEmulator(['--cost', 'stepLaunchUs=150000']);
  procs.push(emulator);
  scorecar = await startScorecarWithGrpc(
    [emulator.url],
    ['--shaper-budget-tokens', '4', '--no-shaper-adaptive', '--max-queue-ms', '1e9', '--coalesce-window-ms', '0', '--score-cache', 'off', '--api-key', KEY, '--health-interval-ms', '100', '--max-items', '20'],
  );
  procs.push(scorecar);
  client = new ScorerClient(scorecar.grpc, { apiKey: KEY });
});

afterAll(async () => {
  client?.close();
  for (const p of procs.reverse()) await p.stop();
});

/** The failure a call ended with (fails the test when it succeeded). */
async function failure(p: Promise<unknown>): Promise<ScorerError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ScorerError);
    return e as ScorerError;
  }
  throw new Error('the call succeeded');
}

function healthStatus(service: string): Promise<string> {
  const Health = makeGenericClientConstructor(healthService as never, 'Health');
  const h = new Health(scorecar.grpc, credentials.createInsecure()) as unknown as Client & {
    Check(req: object, cb: (e: ServiceError | null, r: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    h.Check({ service }, (e, r) => {
      h.close();
      if (e) reject(e);
      else resolve(r.status);
    }),
  );
}

async function until(what: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ONE: ScoreRequestInit = { queryIds: { ids: [1, 2] }, itemPackedIds: packTokenIds([[3, 4]]), labelTokenIds: [9693] };

describe('deadlines', () => {
  // First: nothing measured yet, so the shaper admits the request and it expires in flight.
  it('answers DEADLINE_EXCEEDED when deadline_ms passes while the request is scored', async () => {
    const e = await failure(client.score({ ...ONE, deadlineMs: 100 }));
    expect(e.code).toBe(Status.DEADLINE_EXCEEDED);
    expect(e.details).toMatch(/exceeded its deadline while being scored \(scorecar\)/);
  });

  it('makes the call’s gRPC deadline the request’s deadline in the pipeline', async () => {
    // 30 requests, one at a time at 150 ms each, cannot all finish in 400 ms: once the shaper has
    // measured a call, it refuses the rest at once with a retry hint instead of letting them time
    // out in its queue.
    await client.score(ONE);
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, r) =>
        client.score({ queryIds: { ids: [1, 2] }, itemPackedIds: packTokenIds([[r, r + 1]]), labelTokenIds: [9693] }, { deadlineMs: 400 }).then(
          () => null,
          (e: ScorerError) => e,
        ),
      ),
    );
    const refused = outcomes.filter((e) => e?.code === Status.RESOURCE_EXHAUSTED);
    expect(outcomes.filter((e) => e === null).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of outcomes) if (e) expect([Status.RESOURCE_EXHAUSTED, Status.DEADLINE_EXCEEDED]).toContain(e.code);
    for (const e of refused) {
      if (e === null) continue;
      expect(e.details).toMatch(/cannot be scored before its deadline \(scorecar traffic shaper\)/);
      expect(e.retryAfterS).toBeGreaterThanOrEqual(1);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers each stream request on its own: refused ones with RESOURCE_EXHAUSTED, the stream goes on', async () => {
    const s = client.stream();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, r) =>
        s.score({ queryIds: { ids: [5] }, itemPackedIds: packTokenIds([[r, 9]]), labelTokenIds: [9693], deadlineMs: 400 }).then(
          (x) => x,
          (e: ScorerError) => e,
        ),
      ),
    );
    const refused = outcomes.filter((o): o is ScorerError => o instanceof ScorerError && o.code === Status.RESOURCE_EXHAUSTED);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => (e.retryAfterS ?? 0) >= 1)).toBe(true);
    expect(outcomes.filter((o) => !(o instanceof ScorerError)).length).toBeGreaterThan(0);
    const after = await s.score(ONE);
    expect(after.scores).toHaveLength(1);
    await s.end();
  });

  it('counts expired and refused requests by status in /metrics', async () => {
    const text = (await call(scorecar.url + '/metrics', 'GET')).text;
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.Score",code="4"\} [1-9]/);
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.Score",code="8"\} [1-9]/);
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.ScoreStream",code="8"\} [1-9]/);
  });
});

describe('INVALID_ARGUMENT', () => {
  it("refuses what SGLang's /v1/score refuses, with its messages", async () => {
    const cases: Array<[ScoreRequestInit, RegExp]> = [
      [{ queryText: 'q', itemTexts: { texts: ['a'] } }, /^label_token_ids is required for generation \(CausalLM\) models\.$/],
      [{ queryText: 'q', labelTokenIds: [9693] }, /^items must be provided$/],
      [{ queryText: 'q', itemIds: { items: [{ ids: [1] }] }, labelTokenIds: [9693] }, /^Invalid combination of query\/items types/],
      [{ ...ONE, labelTokenIds: [200000] }, /^Token ID 200000 is out of vocabulary/],
      [{ queryIds: { ids: [1] }, itemPackedIds: packTokenIds(Array.from({ length: 21 }, () => [5])), labelTokenIds: [9693] }, /^Too many items: 21 > 20/],
      [{ queryIds: { ids: [1] }, itemPackedIds: { ids: [1, 2, 3], lengths: [2] }, labelTokenIds: [9693] }, /lengths add up to 2 but 3 ids/],
      [{ ...ONE, priority: 9 as (typeof Priority)[keyof typeof Priority] }, /PRIORITY_ONLINE or PRIORITY_NEARLINE/],
    ];
    for (const [req, message] of cases) {
      const e = await failure(client.score(req));
      expect(e.code, String(message)).toBe(Status.INVALID_ARGUMENT);
      expect(e.details).toMatch(message);
      expect(e.retryAfterS).toBeNull();
    }
  });

  it('refuses what HTTP /rank refuses', async () => {
    const cases: Array<[RankRequestInit, RegExp]> = [
      [{ items: [{ id: 'a', text: 'x' }] }, /query must be a string or a list of token ids/],
      [{ queryText: 'q', items: [{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }] }, /duplicate item id "a"/],
      [{ queryText: 'q', items: [{ id: 'a' }] }, /items\[0\] must have exactly one of text, ids or fields/],
      [{ queryText: 'q', items: [{ id: '', text: 'x' }] }, /items\[0\].id must be a non-empty string/],
      [{ queryText: 'q', items: [{ id: 'a', text: 'x' }], template: 'nope' }, /unknown template "nope"/],
      [{ queryText: 'q', items: Array.from({ length: 21 }, (_, i) => ({ id: `j${i}`, text: 'x' })) }, /Too many items: 21 > 20/],
    ];
    for (const [req, message] of cases) {
      const e = await failure(client.rank(req));
      expect(e.code, String(message)).toBe(Status.INVALID_ARGUMENT);
      expect(e.details).toMatch(message);
    }
  });

  it('answers a bad request on a stream with its error, and the stream goes on', async () => {
    const s = client.stream();
    const bad = await failure(s.score({ queryText: 'q', labelTokenIds: [9693] }));
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    expect(bad.details).toBe('items must be provided');
    expect((await s.score(ONE)).scores).toHaveLength(1);
    await s.end();
  });

  it('refuses bytes that are not a ScoreRequest', async () => {
    const raw = new Client(scorecar.grpc, credentials.createInsecure());
    const md = new Metadata();
    md.set('authorization', `Bearer ${KEY}`);
    const e = await new Promise<ServiceError>((resolve, reject) =>
      raw.makeUnaryRequest('/scorecar.v1.Scorer/Score', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x7f, 0x01]), md, (err) =>
        err ? resolve(err) : reject(new Error('garbage was accepted')),
      ),
    );
    raw.close();
    expect(e.code).toBe(Status.INVALID_ARGUMENT);
    expect(e.details).toMatch(/malformed protobuf message/);
  });
});

describe('UNAUTHENTICATED', () => {
  it('needs the API key on every Scorer method; health stays open', async () => {
    const anon = new ScorerClient(scorecar.grpc);
    const wrong = new ScorerClient(scorecar.grpc, { apiKey: 'nope' });
    try {
      for (const c of [anon, wrong]) {
        expect((await failure(c.score(ONE))).code).toBe(Status.UNAUTHENTICATED);
        expect((await failure(c.rank({ queryText: 'q', items: [{ id: 'a', text: 'x' }] }))).code).toBe(Status.UNAUTHENTICATED);
        const s = c.stream();
        expect((await failure(s.score(ONE))).code).toBe(Status.UNAUTHENTICATED);
      }
      expect(await healthStatus('')).toBe('SERVING');
    } finally {
      anon.close();
      wrong.close();
    }
  });
});

describe('UNAVAILABLE and INTERNAL', () => {
  it('answers UNAVAILABLE for a malformed backend reply and INTERNAL for a backend 500', async () => {
    await postJson(emulator.url, '/emulator/faults', { malformedRate: 1 });
    try {
      const e = await failure(client.score(ONE));
      expect(e.code).toBe(Status.UNAVAILABLE);
      expect(e.details).toMatch(/^bad gateway: /);
    } finally {
      await postJson(emulator.url, '/emulator/faults', { malformedRate: 0 });
    }
    await postJson(emulator.url, '/emulator/faults', { errorRate: 1 });
    try {
      const e = await failure(client.score(ONE));
      expect(e.code).toBe(Status.INTERNAL);
      expect(e.details).toMatch(/backend answered 500: Internal server error: injected fault/);
    } finally {
      await postJson(emulator.url, '/emulator/faults', { errorRate: 0 });
    }
  });

  it('answers UNAVAILABLE with retry-after and reports NOT_SERVING while no backend is healthy', async () => {
    await postJson(emulator.url, '/emulator/health', { healthy: false });
    try {
      await until(async () => (await healthStatus('scorecar.v1.Scorer')) === 'NOT_SERVING');
      expect(await healthStatus('')).toBe('NOT_SERVING');
      const e = await failure(client.score(ONE));
      expect(e.code).toBe(Status.UNAVAILABLE);
      expect(e.details).toMatch(/no healthy SGLang backend/);
      expect(e.retryAfterS).toBe(1);
    } finally {
      await postJson(emulator.url, '/emulator/health', { healthy: true });
    }
    await until(async () => (await healthStatus('scorecar.v1.Scorer')) === 'SERVING');
    expect((await client.score(ONE)).scores).toHaveLength(1);
  });
});
