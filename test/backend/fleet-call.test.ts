import { afterEach, describe, expect, it } from 'vitest';
import type { BackendGroup } from '../../src/backend/backend-group.js';
import { FleetCall, type FleetPolicy } from '../../src/backend/fleet-call.js';
import { RetryBudget } from '../../src/backend/retry-budget.js';
import type { BackendReply, SglangBackend } from '../../src/backend/sglang-backend.js';
import { onContinuationFault } from '../../src/mem/continuation.js';
import { CancelScope } from '../../src/mem/cancel-scope.js';

type Behave = (ok: (r: BackendReply) => void, fail: (e: unknown) => void) => void;

/** The parts of an SglangBackend a FleetCall uses, with a scripted postCall. */
function backend(url: string, behave: Behave): SglangBackend & { inflight: number; calls: number } {
  const b = {
    url,
    inflight: 0,
    calls: 0,
    outstandingTokens: 0,
    lastError: '',
    stats: { errors: { connect: 0, timeout: 0, reset: 0, '5xx': 0, '4xx': 0 }, retries: 0 },
    latency: { ewmaMs: Number.NaN, penalize() {}, observe() {} },
    outlier: { onSend: () => false, onFailure() {}, onNeutral() {}, onSuccess() {} },
    postCall(_p: string, _b: Uint8Array, _s: unknown, _h: unknown, ok: (r: BackendReply) => void, fail: (e: unknown) => void): void {
      b.inflight++;
      b.calls++;
      behave(ok, fail);
    },
    postDone(): void {
      b.inflight--;
    },
    postFailure: (e: unknown) => e,
  };
  return b as unknown as SglangBackend & { inflight: number; calls: number };
}

/** A group that offers its members in order, skipping those already tried. */
function group(members: SglangBackend[]): BackendGroup {
  return {
    info: { modelPath: 'm' },
    pick: (_now: number, tried?: SglangBackend[]) => members.find((m) => !tried?.includes(m)) ?? null,
    msUntilTrial: () => Number.POSITIVE_INFINITY,
    healthy: () => members.length,
  } as unknown as BackendGroup;
}

const policy = (): FleetPolicy => ({ retryBudget: new RetryBudget({ minPerSecond: 100 }), maxAttempts: 2, hedge: false, hedgeMinDelayMs: 0 });
const reset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const reply = (status: number): BackendReply => ({ status, body: Buffer.alloc(8), length: 2, contentType: 'application/json' });

let restore: ((e: unknown) => void) | null = null;
afterEach(() => {
  if (restore !== null) onContinuationFault(restore);
  restore = null;
});

/** Starts a call and waits for its one ending; counts how many endings there were after a few more ticks. */
async function run(g: BackendGroup, p: FleetPolicy, scope?: CancelScope, ok?: (r: BackendReply) => void, fail?: (e: unknown) => void): Promise<{ endings: string[]; error: unknown; reply: BackendReply | null }> {
  const endings: string[] = [];
  let error: unknown = null;
  let got: BackendReply | null = null;
  await new Promise<void>((resolve) => {
    const c = FleetCall.take();
    c.scope = scope;
    c.start(
      g,
      p,
      () => new CancelScope(),
      (r) => {
        endings.push('ok');
        got = r;
        resolve();
        ok?.(r);
      },
      (e) => {
        endings.push('fail');
        error = e;
        resolve();
        fail?.(e);
      },
    );
    expect(endings).toEqual([]); // never before start() returns
  });
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  return { endings, error, reply: got };
}

describe('FleetCall', () => {
  it('retries a reset on the next backend and answers once, its counters back to zero', async () => {
    const a = backend('a', (_ok, fail) => process.nextTick(fail, reset()));
    const b = backend('b', (ok) => process.nextTick(ok, reply(200)));
    const r = await run(group([a, b]), policy());
    expect(r.endings).toEqual(['ok']);
    expect(r.reply?.status).toBe(200);
    expect([a.calls, b.calls, a.inflight, b.inflight, a.outstandingTokens, b.outstandingTokens]).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('ends with the last failure when every backend failed', async () => {
    const a = backend('a', (_ok, fail) => process.nextTick(fail, reset()));
    const b = backend('b', (_ok, fail) => process.nextTick(fail, reset()));
    const r = await run(group([a, b]), policy());
    expect(r.endings).toEqual(['fail']);
    expect((r.error as Error).message).toBe('socket hang up');
  });

  it('goes back to its pool once when its continuation throws: two calls never share one object', async () => {
    const faults: unknown[] = [];
    restore = onContinuationFault((e) => faults.push(e));
    const a = backend('a', (_ok, fail) => process.nextTick(fail, reset()));
    const b = backend('b', (_ok, fail) => process.nextTick(fail, reset()));
    const r = await run(group([a, b]), policy(), undefined, undefined, () => {
      throw new Error('a continuation with a bug');
    });
    expect(r.endings).toEqual(['fail']);
    expect(faults.map((e) => (e as Error).message)).toEqual(['a continuation with a bug']);
    const x = FleetCall.take();
    const y = FleetCall.take();
    expect(x).not.toBe(y);
  });

  it('undoes an attempt whose postCall throws, and fails the call once, after start() returns', async () => {
    const a = backend('a', () => {
      throw new Error('a bug in postCall');
    });
    const r = await run(group([a]), policy());
    expect(r.endings).toEqual(['fail']);
    expect((r.error as Error).message).toBe('a bug in postCall');
    expect([a.inflight, a.outstandingTokens]).toEqual([0, 0]);
  });

  it('fails at once, after start() returns, when its scope is already cancelled', async () => {
    const a = backend('a', (ok) => process.nextTick(ok, reply(200)));
    const scope = new CancelScope();
    scope.cancelAll();
    const r = await run(group([a]), policy(), scope);
    expect(r.endings).toEqual(['fail']);
    expect((r.error as Error).name).toBe('AbortError');
    expect(a.calls).toBe(0);
  });
});
