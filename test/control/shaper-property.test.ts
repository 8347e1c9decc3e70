import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AimdBudget } from '../../src/control/budget.js';
import type { Priority } from '../../src/control/priority.js';
import { ShaperRefused } from '../../src/control/shaper-errors.js';
import { type AdmissionTicket, TrafficShaper } from '../../src/control/traffic-shaper.js';
import { VirtualClock } from '../../src/control/virtual-clock.js';
import { CancelScope, CancelledError } from '../../src/mem/cancel-scope.js';
import { flush } from './track.js';

type Cmd =
  | { kind: 'arrive'; tokens: number; deadlineIn: number | null; priority: Priority; cancellable: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'release'; pick: number; latencyMs: number | null }
  | { kind: 'cancel'; pick: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('arrive' as const),
      tokens: fc.integer({ min: 0, max: 160 }),
      deadlineIn: fc.option(fc.integer({ min: 0, max: 600 })),
      priority: fc.constantFrom<Priority>('online', 'nearline'),
      cancellable: fc.boolean(),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      pick: fc.nat(),
      latencyMs: fc.option(fc.integer({ min: 1, max: 300 })),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
);

interface Req {
  seq: number;
  tokens: number;
  priority: Priority;
  deadlineAt: number;
  scope: CancelScope | null;
  settlements: number;
  outcome: 'pending' | 'admitted' | 'refused' | 'cancelled';
  ticket: AdmissionTicket | null;
  released: boolean;
  admittedOrder: number;
  settledAt: number;
}

describe('TrafficShaper under random arrivals, releases, cancellations and time', () => {
  it('settles every admit() exactly once and keeps its invariants', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cmd, { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1 }),
        async (cmds, maxQueued, adaptive) => {
          const clock = new VirtualClock(0);
          // The adaptive budget moves between 50 and 200 with the latencies released below.
          const budget = 200;
          const limiter = adaptive
            ? new AimdBudget({ initialTokens: 120, minTokens: 50, maxTokens: budget, targetLatencyMs: 100, increaseTokens: 40 })
            : budget;
          const shaper = new TrafficShaper({ budget: limiter, clock, maxQueuedRequests: maxQueued * 3, maxQueuedTokens: 400 });
          const reqs: Req[] = [];
          let admissions = 0;

          const check = (): void => {
            const held = reqs.filter((r) => r.outcome === 'admitted' && !r.released);
            const heldTokens = held.reduce((s, r) => s + r.tokens, 0);
            expect(shaper.inFlightTokens).toBe(heldTokens);
            // Over the (largest) budget only when a single request is alone in flight.
            if (heldTokens > budget) expect(held.length).toBe(1);
            for (const p of ['online', 'nearline'] as const) {
              const pending = reqs.filter((r) => r.outcome === 'pending' && r.priority === p);
              expect(shaper.queuedRequests(p)).toBe(pending.length);
              expect(shaper.queuedTokens(p)).toBe(pending.reduce((s, r) => s + r.tokens, 0));
            }
            for (const r of reqs) {
              expect(r.settlements).toBeLessThanOrEqual(1);
              // Nobody waits in the queue past its deadline, and nothing is admitted after it.
              if (r.outcome === 'pending') expect(clock.now()).toBeLessThan(r.deadlineAt);
              if (r.outcome !== 'pending' && r.outcome !== 'cancelled') expect(r.settledAt).toBeLessThanOrEqual(r.deadlineAt);
              if (r.outcome === 'admitted') expect(r.settledAt).toBeLessThan(r.deadlineAt);
            }
          };

          // Timer by timer, letting promise reactions run at the time each timer fired.
          const advance = async (ms: number): Promise<void> => {
            const to = clock.now() + ms;
            while (clock.now() < to) {
              clock.advanceTo(Math.min(to, clock.nextTimerAt()));
              await flush();
            }
          };

          const step = async (c: Cmd): Promise<void> => {
            const before = admissions;
            if (c.kind === 'arrive') {
              const r: Req = {
                seq: reqs.length,
                tokens: c.tokens,
                priority: c.priority,
                deadlineAt: c.deadlineIn === null ? Infinity : clock.now() + c.deadlineIn,
                scope: c.cancellable ? new CancelScope() : null,
                settlements: 0,
                outcome: 'pending',
                ticket: null,
                released: false,
                admittedOrder: -1,
                settledAt: NaN,
              };
              reqs.push(r);
              shaper.admit(r.tokens, r.deadlineAt, r.priority, r.scope ?? undefined).then(
                (t) => {
                  r.settlements++;
                  r.outcome = 'admitted';
                  r.ticket = t;
                  r.admittedOrder = admissions++;
                  r.settledAt = clock.now();
                },
                (e: unknown) => {
                  r.settlements++;
                  r.settledAt = clock.now();
                  if (e instanceof CancelledError) r.outcome = 'cancelled';
                  else if (e instanceof ShaperRefused) r.outcome = 'refused';
                  else throw e;
                },
              );
            } else if (c.kind === 'advance') await advance(c.ms);
            else if (c.kind === 'release') {
              const held = reqs.filter((r) => r.outcome === 'admitted' && !r.released);
              const r = held[c.pick % Math.max(1, held.length)];
              if (r !== undefined) {
                r.released = true;
                shaper.release(r.ticket as AdmissionTicket, c.latencyMs ?? undefined);
              }
            } else {
              const open = reqs.filter((r) => r.scope !== null && r.outcome === 'pending');
              open[c.pick % Math.max(1, open.length)]?.scope?.cancelAll();
            }
            await flush();
            // Online strictly first: a step that admitted nearline work left no online waiting.
            const admittedNow = reqs.filter((r) => r.admittedOrder >= before);
            if (admittedNow.some((r) => r.priority === 'nearline'))
              expect(reqs.some((r) => r.priority === 'online' && r.outcome === 'pending')).toBe(false);
            check();
          };

          for (const c of cmds) await step(c);
          // Drain: release everything held until nothing is left waiting.
          for (let guard = 0; guard < 1000; guard++) {
            const held = reqs.filter((r) => r.outcome === 'admitted' && !r.released);
            if (held.length === 0 && !reqs.some((r) => r.outcome === 'pending')) break;
            if (held.length === 0) await advance(50);
            for (const r of held) {
              r.released = true;
              shaper.release(r.ticket as AdmissionTicket, 10);
            }
            await flush();
            check();
          }
          for (const r of reqs) expect(r.settlements).toBe(1);
          // FIFO within a class, among the admitted.
          for (const p of ['online', 'nearline'] as const) {
            const admitted = reqs.filter((r) => r.priority === p && r.outcome === 'admitted');
            const bySeq = [...admitted].sort((a, b) => a.seq - b.seq).map((r) => r.seq);
            const byOrder = [...admitted].sort((a, b) => a.admittedOrder - b.admittedOrder).map((r) => r.seq);
            expect(byOrder).toEqual(bySeq);
          }
          expect(shaper.inFlightTokens).toBe(0);
          const s = shaper.stats();
          const count = (o: Req['outcome']): number => reqs.filter((r) => r.outcome === o).length;
          expect(s.admitted).toBe(count('admitted'));
          expect(s.cancelled).toBe(count('cancelled'));
          expect(s.refused.deadline + s.refused['queue-full'] + s.refused['queue-time'] + s.refused.closed).toBe(count('refused'));
        },
      ),
      { numRuns: 300, seed: Number(process.env.SHAPER_PROPERTY_SEED ?? 424242) },
    );
  });
});
