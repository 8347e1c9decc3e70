import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_ID_LENGTH, RequestIds, validRequestId } from '../../src/observe/request-id.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { type LogLines, type RecordedBackend, SCORE_BODY, captureLogger, get, post, recordedEmulator, scoreCalls, sidecar } from './support.js';

describe('request ids', () => {
  it('accepts 1-128 visible ASCII characters only', () => {
    expect(validRequestId('abc-123_XYZ.:/')).toBe(true);
    expect(validRequestId('x'.repeat(MAX_REQUEST_ID_LENGTH))).toBe(true);
    expect(validRequestId('x'.repeat(MAX_REQUEST_ID_LENGTH + 1))).toBe(false);
    expect(validRequestId('')).toBe(false);
    expect(validRequestId('has space')).toBe(false);
    expect(validRequestId('tab\there')).toBe(false);
    expect(validRequestId('newline\n')).toBe(false);
    expect(validRequestId('é')).toBe(false);
  });

  it('makes unique ids with a per-process prefix, and separate batch ids', () => {
    const ids = new RequestIds('abc');
    const a = ids.next();
    const b = ids.next();
    expect(a).toMatch(/^sc-abc-[0-9a-z]+$/);
    expect(a).not.toBe(b);
    expect(ids.nextBatch()).toMatch(/^scb-abc-/);
    expect(ids.accept('mine')).toBe('mine');
    expect(ids.accept(['first', 'second'])).toBe('first');
    expect(ids.accept('bad id')).toMatch(/^sc-abc-/);
    expect(ids.accept(undefined)).toMatch(/^sc-abc-/);
  });
});

/**
 * A recorded emulator behind a scorecar started with `args`, its log lines captured at debug;
 * both closed after the describe block that calls this.
 */
function scorecarOverRecorder(args: string[]): { backend: RecordedBackend; sc: RunningSidecar; logs: LogLines } {
  const t = {} as { backend: RecordedBackend; sc: RunningSidecar; logs: LogLines };
  beforeAll(async () => {
    t.backend = await recordedEmulator();
    const cap = captureLogger('debug');
    t.logs = cap.lines;
    t.sc = await sidecar(t.backend.url, args, { log: cap.log });
  });
  afterAll(async () => {
    await t.sc?.close();
    await t.backend?.close();
  });
  return t;
}

describe('x-request-id through scorecar', () => {
  // Coalescing off: each request's call is its own (the batch-id case has its own test).
  const t = scorecarOverRecorder(['--coalesce-window-ms', '0', '--score-cache', 'off']);

  it('/v1/score: a given id comes back and reaches the backend, with the client traceparent (tracing off)', async () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await post(`${t.sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': 'client-id-1', traceparent: tp });
    expect(r.status).toBe(200);
    expect(r.headers['x-request-id']).toBe('client-id-1');
    const seen = scoreCalls(t.backend).filter((c) => c.headers['x-request-id'] === 'client-id-1');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]?.headers.traceparent).toBe(tp);
  });

  it('/v1/score: no id or an invalid one gets a generated id, also sent to the backend', async () => {
    const r1 = await post(`${t.sc.url}/v1/score`, SCORE_BODY);
    const id1 = r1.headers['x-request-id'] as string;
    expect(id1).toMatch(/^sc-[0-9a-f]{12}-[0-9a-z]+$/);
    expect(scoreCalls(t.backend).some((c) => c.headers['x-request-id'] === id1)).toBe(true);
    for (const bad of ['has space', 'x'.repeat(200)]) {
      const r = await post(`${t.sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': bad });
      expect(r.status).toBe(200);
      expect(r.headers['x-request-id']).toMatch(/^sc-/);
      expect(r.headers['x-request-id']).not.toBe(id1);
    }
  });

  it('/rank returns the id', async () => {
    const r = await post(`${t.sc.url}/rank`, { query: 'q', items: [{ id: 'a', text: 'one' }, { id: 'b', text: 'two' }] }, { 'x-request-id': 'rank-1' });
    expect(r.headers['x-request-id']).toBe('rank-1');
    expect(scoreCalls(t.backend).some((c) => c.headers['x-request-id'] === 'rank-1')).toBe(true);
  });

  it('a passed-through route: the id comes back and reaches the backend (given and generated)', async () => {
    const r = await get(`${t.sc.url}/v1/models`, { 'x-request-id': 'pt-1' });
    expect(r.status).toBe(200);
    expect(r.headers['x-request-id']).toBe('pt-1');
    expect(t.backend.calls.some((c) => c.path === '/v1/models' && c.headers['x-request-id'] === 'pt-1')).toBe(true);
    const g = await get(`${t.sc.url}/v1/models`);
    const id = g.headers['x-request-id'] as string;
    expect(id).toMatch(/^sc-/);
    expect(t.backend.calls.some((c) => c.path === '/v1/models' && c.headers['x-request-id'] === id)).toBe(true);
  });

  it('error answers carry it too (400 from validation, 404 admin), and failures log it', async () => {
    const r = await post(`${t.sc.url}/v1/score`, '{"query": ', { 'x-request-id': 'bad-body-1' });
    expect(r.status).toBe(400);
    expect(r.headers['x-request-id']).toBe('bad-body-1');
    const a = await get(`${t.sc.url}/scorecar/nope`, { 'x-request-id': 'admin-404' });
    expect(a.status).toBe(404);
    expect(a.headers['x-request-id']).toBe('admin-404');
    const line = t.logs.lines.find((l) => l.reqId === 'bad-body-1' && l.msg === 'scoring request failed');
    expect(line).toMatchObject({ level: 'debug', status: 400 });
  });

  it('log lines are JSON with level, time, msg, and reqId on request lines (debug: one per request)', async () => {
    await post(`${t.sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': 'logged-1' });
    await new Promise((r) => setTimeout(r, 20));
    for (const raw of t.logs.raw) expect(() => JSON.parse(raw)).not.toThrow();
    const started = t.logs.lines.find((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('gRPC Scorer API on'));
    expect(started).toMatchObject({ level: 'info', name: 'scorecar' });
    expect(typeof started?.time).toBe('string');
    const req = t.logs.lines.find((l) => l.reqId === 'logged-1' && l.msg === 'request');
    expect(req).toMatchObject({ level: 'debug', method: 'POST', path: '/v1/score', status: 200 });
    expect(typeof req?.ms).toBe('number');
  });
});

describe('coalesced calls', () => {
  const t = scorecarOverRecorder(['--coalesce-window-ms', '50', '--score-cache', 'off']);

  it('carry a batch id of their own, and the log maps it to the request ids', async () => {
    const body = { ...SCORE_BODY, query: 'the same query for all' };
    const rs = await Promise.all(['co-1', 'co-2', 'co-3'].map((id) => post(`${t.sc.url}/v1/score`, body, { 'x-request-id': id })));
    expect(rs.map((r) => r.headers['x-request-id'])).toEqual(['co-1', 'co-2', 'co-3']);
    const batch = scoreCalls(t.backend).find((c) => String(c.headers['x-request-id']).startsWith('scb-'));
    expect(batch).toBeDefined();
    const id = batch?.headers['x-request-id'];
    const line = t.logs.lines.find((l) => l.batchId === id);
    expect(line?.msg).toBe('coalesced backend call');
    expect([...(line?.reqIds as string[])].sort()).toEqual(['co-1', 'co-2', 'co-3']);
  });
});

describe('x-request-id on refusals before the route', () => {
  const t = scorecarOverRecorder(['--api-key', 'k', '--max-body-bytes', '1024']);

  it('401 without the key and 400 for a body over --max-body-bytes', async () => {
    const r = await post(`${t.sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': 'no-key' });
    expect(r.status).toBe(401);
    expect(r.headers['x-request-id']).toBe('no-key');
    const big = await post(`${t.sc.url}/v1/score`, JSON.stringify({ query: 'x'.repeat(4096) }), { 'x-request-id': 'too-big', authorization: 'Bearer k' });
    expect(big.status).toBe(400);
    expect(big.headers['x-request-id']).toBe('too-big');
  });
});
