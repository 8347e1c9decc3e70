import { describe, expect, it } from 'vitest';
import { AimdBudget } from '../../src/control/budget.js';
import { type ControlClock, expiredInFlight, remainingMs } from '../../src/control/clock.js';
import { ShaperRefused } from '../../src/control/shaper-errors.js';
import { TrafficShaper, type AdmissionTicket } from '../../src/control/traffic-shaper.js';
import { VirtualClock } from '../../src/control/virtual-clock.js';
import { CancelScope, CancelledError } from '../../src/mem/cancel-scope.js';
import { flush, track } from './track.js';

function setup(budget = 100, extra: Partial<ConstructorParameters<typeof TrafficShaper>[0]> = {}) {
  const clock = new VirtualClock(1000);
  const shaper = new TrafficShaper({ budget, clock, ...extra });
  const now = (): number => clock.now();
  return { clock, shaper, now };
}

/** Gives the shaper a latency estimate by admitting and releasing one request. */
async function warm(shaper: TrafficShaper, latencyMs: number): Promise<void> {
  const t = await shaper.admit(1, Infinity, 'online');
  shaper.release(t, latencyMs);
}

describe('TrafficShaper admission by token budget', () => {
  it('admits while tokens fit, queues the rest FIFO, and admits them as tokens are released', async () => {
    const { shaper, now } = setup(100);
    const a = track(shaper.admit(60, Infinity, 'online'), now);
    const b = track(shaper.admit(60, Infinity, 'online'), now);
    // c would fit beside a, but FIFO keeps it behind b (no starvation of large requests).
    const c = track(shaper.admit(30, Infinity, 'online'), now);
    await flush();
    expect([a.state, b.state, c.state]).toEqual(['admitted', 'pending', 'pending']);
    expect(shaper.inFlightTokens).toBe(60);
    expect(shaper.queuedRequests('online')).toBe(2);
    expect(shaper.queuedTokens('online')).toBe(90);

    shaper.release(a.ticket as AdmissionTicket, 10);
    await flush();
    expect([b.state, c.state]).toEqual(['admitted', 'admitted']);
    expect(shaper.inFlightTokens).toBe(90);
    expect(shaper.queuedRequests('online')).toBe(0);
    // Releasing twice is harmless.
    shaper.release(a.ticket as AdmissionTicket, 10);
    expect(shaper.inFlightTokens).toBe(90);
  });

  it('admits a request larger than the whole budget alone, once nothing else is in flight', async () => {
    const { shaper, now } = setup(100);
    const small = track(shaper.admit(10, Infinity, 'online'), now);
    const big = track(shaper.admit(500, Infinity, 'online'), now);
    const after = track(shaper.admit(10, Infinity, 'online'), now);
    await flush();
    expect([small.state, big.state, after.state]).toEqual(['admitted', 'pending', 'pending']);
    shaper.release(small.ticket as AdmissionTicket);
    await flush();
    expect([big.state, after.state]).toEqual(['admitted', 'pending']);
    expect(shaper.inFlightTokens).toBe(500);
    shaper.release(big.ticket as AdmissionTicket);
    await flush();
    expect(after.state).toBe('admitted');
    // Alone when idle: admitted at once.
    shaper.release(after.ticket as AdmissionTicket);
    const alone = track(shaper.admit(1000, Infinity, 'nearline'), now);
    await flush();
    expect(alone.state).toBe('admitted');
  });

  it('serves online before nearline under a burst, FIFO within each class', async () => {
    const { shaper, now } = setup(100);
    const first = track(shaper.admit(100, Infinity, 'nearline'), now);
    const order: string[] = [];
    const burst: Array<[string, 'online' | 'nearline']> = [
      ['n1', 'nearline'],
      ['o1', 'online'],
      ['n2', 'nearline'],
      ['o2', 'online'],
      ['o3', 'online'],
      ['n3', 'nearline'],
    ];
    const tickets = new Map<string, AdmissionTicket>();
    for (const [name, prio] of burst)
      void shaper.admit(100, Infinity, prio).then((t) => {
        order.push(name);
        tickets.set(name, t);
      });
    await flush();
    expect(shaper.queuedRequests('online')).toBe(3);
    expect(shaper.queuedRequests('nearline')).toBe(3);
    shaper.release(first.ticket as AdmissionTicket);
    for (let i = 0; i < burst.length; i++) {
      await flush();
      const last = order[order.length - 1] as string;
      shaper.release(tickets.get(last) as AdmissionTicket);
    }
    await flush();
    expect(order).toEqual(['o1', 'o2', 'o3', 'n1', 'n2', 'n3']);
  });

  it('an online arrival is admitted at once while nearline waits, if it fits', async () => {
    const { shaper, now } = setup(100);
    const held = track(shaper.admit(50, Infinity, 'online'), now);
    const nl = track(shaper.admit(80, Infinity, 'nearline'), now);
    const on = track(shaper.admit(40, Infinity, 'online'), now);
    await flush();
    expect([held.state, nl.state, on.state]).toEqual(['admitted', 'pending', 'admitted']);
    // A nearline arrival that would fit still queues behind the nearline already waiting.
    const nl2 = track(shaper.admit(5, Infinity, 'nearline'), now);
    await flush();
    expect(nl2.state).toBe('pending');
  });
});

describe('TrafficShaper deadlines', () => {
  it('refuses at arrival when the estimated wait plus service time exceeds the time left', async () => {
    const { shaper, clock, now } = setup(100);
    await warm(shaper, 100); // service estimate 100 ms, drain rate 100 tokens / 100 ms
    const a = track(shaper.admit(100, Infinity, 'online'), now);
    await flush();
    expect(a.state).toBe('admitted');
    // Must wait for a (about 100 ms) and then be served (100 ms): 150 ms is not enough.
    const late = track(shaper.admit(100, clock.now() + 150, 'online'), now);
    // 250 ms is.
    const ok = track(shaper.admit(100, clock.now() + 250, 'nearline'), now);
    await flush();
    expect(late.state).toBe('refused');
    expect(late.settledAt).toBe(clock.now());
    const err = late.error as ShaperRefused;
    expect(err).toBeInstanceOf(ShaperRefused);
    expect(err.reason).toBe('deadline');
    expect(err.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(err.retryAfterS)).toBe(true);
    expect(ok.state).toBe('pending');
    expect(shaper.stats().refused.deadline).toBe(1);

    shaper.release(a.ticket as AdmissionTicket, 100);
    shaper.release((await nextTicket(ok)) as AdmissionTicket, 100);
    // An idle backend still needs the service time: 50 ms is not enough even with no wait.
    const tooTight = track(shaper.admit(10, clock.now() + 50, 'online'), now);
    const expired = track(shaper.admit(10, clock.now(), 'online'), now);
    await flush();
    expect([tooTight.state, expired.state]).toEqual(['refused', 'refused']);
  });

  it('with no latency measured yet it fails open: only the deadline itself refuses', async () => {
    const { shaper, clock, now } = setup(100);
    const a = track(shaper.admit(100, clock.now() + 1, 'online'), now);
    const b = track(shaper.admit(100, clock.now() + 10, 'online'), now);
    await flush();
    expect([a.state, b.state]).toEqual(['admitted', 'pending']);
    clock.advanceBy(9);
    await flush();
    expect(b.state).toBe('pending');
    clock.advanceBy(1);
    await flush();
    expect(b.state).toBe('refused');
    expect((b.error as ShaperRefused).reason).toBe('deadline');
    expect(b.settledAt).toBe(1010);
  });

  it('refuses a queued request once it can no longer finish by its deadline, never after it', async () => {
    const { shaper, clock, now } = setup(100);
    await warm(shaper, 100);
    const blocker = track(shaper.admit(100, Infinity, 'online'), now);
    const deadline = clock.now() + 500;
    const queued = track(shaper.admit(50, deadline, 'online'), now);
    const other = track(shaper.admit(50, Infinity, 'nearline'), now);
    await flush();
    expect([blocker.state, queued.state, other.state]).toEqual(['admitted', 'pending', 'pending']);
    // Its last useful start is deadline - 100 ms (the service estimate).
    clock.advanceTo(deadline - 101);
    await flush();
    expect(queued.state).toBe('pending');
    clock.advanceTo(deadline - 100);
    await flush();
    expect(queued.state).toBe('refused');
    expect((queued.error as ShaperRefused).reason).toBe('deadline');
    expect(queued.settledAt).toBeLessThanOrEqual(deadline);
    expect(shaper.queuedRequests('online')).toBe(0);
    // The blocked nearline request is still waiting for tokens, not refused with it.
    expect(other.state).toBe('pending');
    shaper.release(blocker.ticket as AdmissionTicket, 100);
    await flush();
    expect(other.state).toBe('admitted');
  });

  it('re-arms a timer that fires early instead of refusing before the last useful start', async () => {
    const clock = new VirtualClock(0);
    // A clock whose timers fire at half their delay (as Node's do past 2^31 - 1 ms).
    const hasty: ControlClock = {
      now: () => clock.now(),
      setTimer: (ms, fire, arg) => clock.setTimer(ms / 2, fire, arg),
      clearTimer: (h) => clock.clearTimer(h),
    };
    const shaper = new TrafficShaper({ budget: 10, clock: hasty });
    const now = (): number => clock.now();
    track(shaper.admit(10, Infinity, 'online'), now);
    const q = track(shaper.admit(10, 1000, 'online'), now);
    clock.advanceTo(999);
    await flush();
    expect(q.state).toBe('pending');
    clock.advanceTo(1000);
    await flush();
    expect(q.state).toBe('refused');
  });

  it('on the system clock, a queued request without a deadline is never timed out', async () => {
    const shaper = new TrafficShaper({ budget: 10 });
    const a = track(shaper.admit(10, Infinity, 'online'), () => 0);
    const b = track(shaper.admit(10, Infinity, 'online'), () => 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect([a.state, b.state]).toEqual(['admitted', 'pending']);
    shaper.release(a.ticket as AdmissionTicket, 1);
    await flush();
    expect(b.state).toBe('admitted');
  });

  it('classifies in-flight expiry against the same clock', () => {
    const clock = new VirtualClock(100);
    expect(expiredInFlight(150, clock)).toBe(false);
    expect(remainingMs(150, clock)).toBe(50);
    clock.advanceTo(150);
    expect(expiredInFlight(150, clock)).toBe(true);
  });
});

describe('TrafficShaper queue bounds, cancellation and close', () => {
  it('bounds the queue by requests and by tokens, refusing with queue-full', async () => {
    const { shaper, now } = setup(100, { maxQueuedRequests: 2, maxQueuedTokens: 150 });
    const a = track(shaper.admit(100, Infinity, 'online'), now);
    const q1 = track(shaper.admit(80, Infinity, 'online'), now);
    const tooManyTokens = track(shaper.admit(80, Infinity, 'online'), now);
    const q2 = track(shaper.admit(70, Infinity, 'online'), now);
    const tooMany = track(shaper.admit(1, Infinity, 'online'), now);
    await flush();
    expect([a.state, q1.state, q2.state]).toEqual(['admitted', 'pending', 'pending']);
    expect([tooManyTokens.state, tooMany.state]).toEqual(['refused', 'refused']);
    expect((tooMany.error as ShaperRefused).reason).toBe('queue-full');
    expect(shaper.stats().refused['queue-full']).toBe(2);
  });

  it('lets an online arrival displace the newest nearline waiter from a full queue', async () => {
    const { shaper, now } = setup(100, { maxQueuedRequests: 2 });
    track(shaper.admit(100, Infinity, 'online'), now);
    const n1 = track(shaper.admit(10, Infinity, 'nearline'), now);
    const n2 = track(shaper.admit(10, Infinity, 'nearline'), now);
    const o1 = track(shaper.admit(10, Infinity, 'online'), now);
    await flush();
    expect([n1.state, n2.state, o1.state]).toEqual(['pending', 'refused', 'pending']);
    expect((n2.error as ShaperRefused).reason).toBe('queue-full');
    // A nearline arrival never displaces anything.
    const n3 = track(shaper.admit(10, Infinity, 'nearline'), now);
    await flush();
    expect(n3.state).toBe('refused');
  });

  it('settles a queued request cancelled through its scope, and frees its place', async () => {
    const { shaper, now } = setup(100);
    const a = track(shaper.admit(100, Infinity, 'online'), now);
    const scope = new CancelScope();
    const b = track(shaper.admit(50, Infinity, 'online', scope), now);
    const c = track(shaper.admit(50, Infinity, 'online'), now);
    await flush();
    scope.cancelAll();
    await flush();
    expect(b.state).toBe('refused');
    expect(b.error).toBeInstanceOf(CancelledError);
    expect(shaper.queuedRequests('online')).toBe(1);
    shaper.release(a.ticket as AdmissionTicket);
    await flush();
    expect(c.state).toBe('admitted');
    const pre = new CancelScope();
    pre.cancelAll();
    const d = track(shaper.admit(1, Infinity, 'online', pre), now);
    await flush();
    expect(d.error).toBeInstanceOf(CancelledError);
    expect(shaper.stats().cancelled).toBe(2);
  });

  it('keeps order and counts when many waiters behind a blocked head leave (tombstone compaction)', async () => {
    const { shaper, now } = setup(10, { maxQueuedRequests: 5000 });
    const head = track(shaper.admit(10, Infinity, 'online'), now);
    const scopes: CancelScope[] = [];
    const waiting = Array.from({ length: 3000 }, (_, i) => {
      const scope = new CancelScope();
      scopes.push(scope);
      return track(shaper.admit(i % 3 === 0 ? 1 : 2, Infinity, 'online', scope), now);
    });
    await flush();
    // Cancel two in three, leaving the 1-token ones: tombstones outnumber live waiters midway,
    // which compacts the deque.
    for (let i = 0; i < 3000; i++) if (i % 3 !== 0) scopes[i]?.cancelAll();
    await flush();
    expect(shaper.queuedRequests('online')).toBe(1000);
    expect(shaper.queuedTokens('online')).toBe(1000);
    const order: number[] = [];
    shaper.release(head.ticket as AdmissionTicket);
    await flush();
    // Ten 1-token requests fit the budget of 10, in arrival order.
    waiting.forEach((t, i) => {
      if (t.state === 'admitted') order.push(i);
    });
    expect(order).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(shaper.queuedRequests('online')).toBe(990);
  });

  it('close() refuses everything queued and every later arrival', async () => {
    const { shaper, now } = setup(100);
    track(shaper.admit(100, Infinity, 'online'), now);
    const q = [track(shaper.admit(1, Infinity, 'online'), now), track(shaper.admit(1, Infinity, 'nearline'), now)];
    await flush();
    shaper.close();
    const later = track(shaper.admit(1, Infinity, 'online'), now);
    await flush();
    for (const t of [...q, later]) expect((t.error as ShaperRefused).reason).toBe('closed');
  });

  it('exposes metrics: budget, in flight, queues, refusals and queue waits', async () => {
    const { shaper, clock, now } = setup(100);
    const a = track(shaper.admit(100, Infinity, 'online'), now);
    const b = track(shaper.admit(20, Infinity, 'nearline'), now);
    await flush();
    clock.advanceBy(40);
    shaper.release(a.ticket as AdmissionTicket, 40);
    await flush();
    expect(b.ticket?.queuedMs).toBe(40);
    const s = shaper.stats();
    expect(s).toMatchObject({
      budgetTokens: 100,
      inFlightTokens: 20,
      inFlightRequests: 1,
      queuedRequests: { online: 0, nearline: 0 },
      admitted: 2,
      queueWait: { count: 2, sumMs: 40, maxMs: 40 },
      backendLatencyMs: 40,
    });
    expect(s.drainMs).toBeGreaterThan(0);
  });
});

describe('TrafficShaper with an adaptive budget', () => {
  it('shrinks the budget when backend latency rises and grows it back when latency falls', async () => {
    const { shaper, clock } = setup(100, {
      budget: new AimdBudget({ initialTokens: 10_000, minTokens: 1000, maxTokens: 20_000, targetLatencyMs: 100 }),
    });
    const run = async (latencyMs: number, rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++) {
        // Fill the budget, then complete everything at the given latency.
        const n = Math.max(1, Math.floor(shaper.budgetTokens / 500));
        const tickets = await Promise.all(Array.from({ length: n }, () => shaper.admit(500, Infinity, 'online')));
        clock.advanceBy(latencyMs);
        for (const t of tickets) shaper.release(t, latencyMs);
      }
    };
    await run(50, 5);
    const grown = shaper.budgetTokens;
    expect(grown).toBeGreaterThan(10_000);
    await run(300, 10);
    const shrunk = shaper.budgetTokens;
    expect(shrunk).toBeLessThan(grown * 0.5);
    expect(shrunk).toBeGreaterThanOrEqual(1000);
    await run(50, 20);
    expect(shaper.budgetTokens).toBeGreaterThan(shrunk * 1.5);
    expect(shaper.budgetTokens).toBeLessThanOrEqual(20_000);
  });
});

async function nextTicket(t: { ticket: AdmissionTicket | null }): Promise<AdmissionTicket | null> {
  await flush();
  return t.ticket;
}

describe('the queue-time bound and the cheap admission', () => {
  it('refuses at arrival what would wait longer than maxQueueMs, and a queued request at the bound', async () => {
    const { TrafficShaper } = await import('../../src/control/traffic-shaper.js');
    const { ShaperRefused } = await import('../../src/control/shaper-errors.js');
    let now = 0;
    const timers: Array<{ at: number; f: (a: unknown) => void; a: unknown }> = [];
    const clock = {
      now: () => now,
      setTimer: (ms: number, f: (a: unknown) => void, a: unknown) => {
        const t = { at: now + ms, f, a };
        timers.push(t);
        return t;
      },
      clearTimer: (t: unknown) => {
        const i = timers.indexOf(t as (typeof timers)[number]);
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const s = new TrafficShaper({ budget: 100, maxQueueMs: 250, clock: clock as never });
    // One call measured at 100 ms: the backend finishes about one budget per 100 ms.
    const first = await s.admit(100, Infinity, 'online');
    now = 100;
    s.release(first, 100);
    const busy = await s.admit(100, Infinity, 'online');
    // 200 tokens ahead of it: ~200 ms of waiting, under the bound: queued.
    const queued = s.admit(100, Infinity, 'online');
    const queued2 = s.admit(100, Infinity, 'online');
    // 300 tokens ahead: ~300 ms > 250 ms: refused at arrival, without waiting.
    await expect(s.admit(100, Infinity, 'online')).rejects.toMatchObject({ reason: 'queue-time' });
    expect(() => s.precheck(100, Infinity, 'online')).toThrow(ShaperRefused);
    expect(s.stats().refused['queue-time']).toBe(2);
    // The queued ones reach their bound: refused then.
    now = 100 + 251;
    for (const t of timers.splice(0)) t.f(t.a);
    await expect(queued).rejects.toMatchObject({ reason: 'queue-time' });
    await expect(queued2).rejects.toMatchObject({ reason: 'queue-time' });
    s.release(busy, 100);
    expect(() => s.precheck(100, Infinity, 'online')).not.toThrow();
    expect(() => s.precheck(100, now - 1, 'online')).toThrow(ShaperRefused);
  });
});

describe('TrafficShaper.tryAdmit (admission without a promise)', () => {
  it('gives a ticket exactly when admit() would admit at once, and counts it like admit()', async () => {
    const { shaper } = setup(100);
    const t = shaper.tryAdmit(60, Infinity, 'online');
    expect(t).not.toBe(null);
    expect(t?.queuedMs).toBe(0);
    expect(shaper.inFlightTokens).toBe(60);
    expect(shaper.stats().admitted).toBe(1);
    // Would not fit beside the first: null, and nothing counted or queued.
    expect(shaper.tryAdmit(60, Infinity, 'online')).toBe(null);
    expect(shaper.stats()).toMatchObject({ admitted: 1, inFlightTokens: 60, queuedRequests: { online: 0, nearline: 0 } });
    // Queued work ahead: null even for a request that would fit (FIFO holds).
    const queued = shaper.admit(60, Infinity, 'online');
    expect(shaper.tryAdmit(10, Infinity, 'online')).toBe(null);
    shaper.release(t as AdmissionTicket, 10);
    const second = await queued;
    expect(shaper.inFlightTokens).toBe(60);
    // A request larger than the whole budget goes alone, as admit() lets it.
    shaper.release(second, 10);
    const big = shaper.tryAdmit(500, Infinity, 'online');
    expect(big).not.toBe(null);
    shaper.release(big as AdmissionTicket, 10);
    expect(shaper.inFlightTokens).toBe(0);
    expect(shaper.stats().refused).toEqual({ deadline: 0, 'queue-full': 0, 'queue-time': 0, closed: 0 });
  });

  it('reuses a released ticket for a later tryAdmit, with that request\'s own figures', () => {
    const { shaper, now } = setup(100);
    const a = shaper.tryAdmit(30, now() + 1_000, 'online') as AdmissionTicket;
    shaper.release(a, 5);
    const b = shaper.tryAdmit(40, now() + 2_000, 'nearline') as AdmissionTicket;
    expect(b).toBe(a);
    expect([b.tokens, b.priority, b.deadlineAt, b.queuedMs]).toEqual([40, 'nearline', now() + 2_000, 0]);
    expect(shaper.inFlightTokens).toBe(40);
    // Two held at once are two objects; each release returns its own tokens.
    const c = shaper.tryAdmit(50, Infinity, 'online') as AdmissionTicket;
    expect(c).not.toBe(b);
    shaper.release(b, 5);
    expect(shaper.inFlightTokens).toBe(50);
    shaper.release(c, 5);
    expect([shaper.inFlightTokens, shaper.stats().inFlightRequests]).toEqual([0, 0]);
  });

  it('leaves refusals to admit(): closed, cancelled, or past its deadline gives null and counts nothing', () => {
    const { shaper, now } = setup(100);
    const scope = new CancelScope();
    scope.cancelAll();
    expect(shaper.tryAdmit(10, Infinity, 'online', scope)).toBe(null);
    expect(shaper.tryAdmit(10, now() - 1, 'online')).toBe(null);
    shaper.close();
    expect(shaper.tryAdmit(10, Infinity, 'online')).toBe(null);
    expect(shaper.stats().refused).toEqual({ deadline: 0, 'queue-full': 0, 'queue-time': 0, closed: 0 });
    expect(shaper.stats().cancelled).toBe(0);
    expect(shaper.inFlightTokens).toBe(0);
  });

  it('refuses at once work whose expected service time would miss its deadline (null, as admit() refuses it)', async () => {
    const { shaper, now } = setup(100);
    await warm(shaper, 50);
    expect(shaper.tryAdmit(10, now() + 10, 'online')).toBe(null);
    expect(shaper.tryAdmit(10, now() + 500, 'online')).not.toBe(null);
  });
});
