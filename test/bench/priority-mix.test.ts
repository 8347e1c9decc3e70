import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/cli.js';
import { type PriorityMix, PriorityMixSource, priorityMixError } from '../../bench/loadgen/priority-mix.js';
import { runStep } from '../../bench/loadgen/step.js';
import type { BenchRequest, ScoreTarget, SendResult } from '../../bench/loadgen/target.js';
import { urgencyHeaders } from '../../bench/loadgen/targets/http-score.js';
import { constantSource } from './fakes.js';

const MIX: PriorityMix = { nearlineShare: 0.5, nearlineTimeoutMs: 5000, onlineDeadlineMs: 2000, nearlineDeadlineMs: null };

/** Answers online requests after onlineMs and nearline ones after nearlineMs (or never: 'hang'). */
class ClassTarget implements ScoreTarget {
  readonly name = 'classes';
  readonly kind = 'fake';
  readonly url = 'memory://classes';
  readonly seen: BenchRequest[] = [];

  constructor(
    private readonly onlineMs: number,
    private readonly nearlineMs: number | 'hang',
    private readonly nearlineStatus = 200,
  ) {}

  send(req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    this.seen.push(req);
    const nearline = req.priority === 'nearline';
    const wait = nearline ? this.nearlineMs : this.onlineMs;
    return new Promise((resolve, reject) => {
      const t = wait === 'hang' ? null : setTimeout(() => resolve({ status: nearline ? this.nearlineStatus : 200 }), wait);
      signal.addEventListener('abort', () => {
        if (t) clearTimeout(t);
        reject(new Error('aborted'));
      }, { once: true });
    });
  }

  async close(): Promise<void> {}
}

describe('priority mix source', () => {
  it('draws each class with its share, deterministically per seed, and attaches timeouts and deadlines', () => {
    const draw = (seed: number, share: number): BenchRequest[] => {
      const s = new PriorityMixSource(constantSource(), { ...MIX, nearlineShare: share }, seed);
      return Array.from({ length: 4000 }, (_, i) => s.next(i));
    };
    const a = draw(7, 0.5);
    const nearline = a.filter((r) => r.priority === 'nearline');
    expect(nearline.length / a.length).toBeGreaterThan(0.46);
    expect(nearline.length / a.length).toBeLessThan(0.54);
    expect(draw(7, 0.5).map((r) => r.priority)).toEqual(a.map((r) => r.priority));
    expect(draw(8, 0.5).map((r) => r.priority)).not.toEqual(a.map((r) => r.priority));
    for (const r of nearline) expect([r.timeoutMs, r.deadlineMs]).toEqual([5000, undefined]);
    for (const r of a.filter((x) => x.priority === 'online')) expect([r.timeoutMs, r.deadlineMs]).toEqual([undefined, 2000]);
    expect(draw(1, 0).every((r) => r.priority === 'online')).toBe(true);
    expect(draw(1, 1).every((r) => r.priority === 'nearline')).toBe(true);
  });

  it('rejects shares outside [0, 1] and non-positive bounds', () => {
    expect(priorityMixError(MIX)).toBeNull();
    expect(priorityMixError({ ...MIX, nearlineShare: 1.5 })).toMatch(/share/);
    expect(priorityMixError({ ...MIX, nearlineTimeoutMs: 0 })).toMatch(/timeout/);
    expect(priorityMixError({ ...MIX, onlineDeadlineMs: -1 })).toMatch(/deadline/);
    expect(() => new PriorityMixSource(constantSource(), { ...MIX, nearlineShare: -0.1 }, 1)).toThrow(/share/);
  });

  it('sends the class and deadline as scorecar headers, and nothing extra without them', () => {
    const base = { 'content-type': 'application/json' };
    expect(urgencyHeaders(base, {})).toBe(base);
    expect(urgencyHeaders(base, { priority: 'nearline', deadlineMs: 9999.6 })).toEqual({
      'content-type': 'application/json',
      'x-scorecar-priority': 'nearline',
      'x-scorecar-deadline-ms': '10000',
    });
    expect(base).toEqual({ 'content-type': 'application/json' });
  });
});

describe('per-class step accounting', () => {
  it('measures online and nearline apart; the step latency is the online class', async () => {
    const target = new ClassTarget(5, 80);
    const source = new PriorityMixSource(constantSource(), MIX, 3);
    const m = await runStep(target, source, { rps: 150, burst: null, warmupMs: 0, durationMs: 1000, timeoutMs: 1000, seed: 2 }, new Set());
    const c = m.byClass;
    expect(c).toBeDefined();
    if (!c) return;
    expect(c.online.scheduled + c.nearline.scheduled).toBe(m.scheduled);
    expect(c.online.ok + c.nearline.ok).toBe(m.ok);
    expect(c.online.scheduled).toBeGreaterThan(20);
    expect(c.nearline.scheduled).toBeGreaterThan(20);
    // Online answers in ~5 ms, nearline in ~80: the step's latency is the online figure.
    expect(c.nearline.latency.p50).toBeGreaterThanOrEqual(79);
    expect(c.online.latency.p95).toBeLessThan(60);
    expect(m.latency).toEqual(c.online.latency);
    expect(c.online.itemsPerSecond + c.nearline.itemsPerSecond).toBeCloseTo(m.itemsPerSecond, 6);
    // Every request carried its class header value.
    expect(target.seen.every((r) => r.priority === 'online' || r.priority === 'nearline')).toBe(true);
  });

  it('gives nearline requests their own timeout and counts errors and timeouts in both the class and the step', async () => {
    // Nearline never answers: each times out at 300 ms (its own bound), not at the step's 2 s.
    const hang = new ClassTarget(2, 'hang');
    const started = performance.now();
    const m = await runStep(hang, new PriorityMixSource(constantSource(), { ...MIX, nearlineTimeoutMs: 300 }, 4), { rps: 60, burst: null, warmupMs: 0, durationMs: 500, timeoutMs: 2000, seed: 5 }, new Set());
    expect(performance.now() - started).toBeLessThan(1900);
    expect(m.byClass?.nearline.timeouts).toBe(m.byClass?.nearline.scheduled);
    expect(m.byClass?.online.timeouts).toBe(0);
    expect(m.timeouts).toBe(m.byClass?.nearline.timeouts);
    const nl = m.byClass?.nearline.latency;
    expect(nl?.p50).toBeGreaterThanOrEqual(299);
    expect(nl?.p50).toBeLessThan(600);

    const refuse = new ClassTarget(2, 1, 429);
    const r = await runStep(refuse, new PriorityMixSource(constantSource(), MIX, 4), { rps: 60, burst: null, warmupMs: 0, durationMs: 500, timeoutMs: 2000, seed: 5 }, new Set());
    expect(r.byClass?.nearline.errors).toBe(r.byClass?.nearline.scheduled);
    expect(r.byClass?.nearline.errorsByStatus).toEqual({ '429': r.byClass?.nearline.scheduled });
    expect(r.errors).toBe(r.byClass?.nearline.errors);
    expect(r.byClass?.online.errors).toBe(0);
  });

  it('has no per-class figures when requests carry no class', async () => {
    const m = await runStep(new ClassTarget(1, 1), constantSource(), { rps: 50, burst: null, warmupMs: 0, durationMs: 200, timeoutMs: 1000, seed: 1 }, new Set());
    expect(m.byClass).toBeUndefined();
  });
});

describe('cache hits by page', () => {
  it('splits answered items and hits between first pages and revisits', async () => {
    let call = 0;
    const source = { next: (): BenchRequest => {
      const base = constantSource(10).next(0);
      return { ...base, page: call++ % 2 === 0 ? 1 : 2 };
    } };
    const target: ScoreTarget = {
      name: 'hits', kind: 'fake', url: 'memory://hits',
      send: async (req) => ({ status: 200, cacheHits: req.page > 1 ? 9 : 1 }),
      close: async () => {},
    };
    const m = await runStep(target, source, { rps: 100, burst: null, warmupMs: 0, durationMs: 300, timeoutMs: 1000, seed: 1 }, new Set());
    const p = m.pages;
    expect(p).toBeDefined();
    if (!p) return;
    expect(p.first.items + p.revisit.items).toBe(m.ok * 10);
    expect(p.first.hits).toBe(p.first.items / 10);
    expect(p.revisit.hits).toBe((p.revisit.items / 10) * 9);
    expect(m.cacheHits).toBe(p.first.hits + p.revisit.hits);
  });
});

describe('bench CLI: priority classes', () => {
  it('--nearline-share builds the mix; its options need it', () => {
    const r = parseBenchArgs(['--target', 'ids=http://127.0.0.1:30001', '--nearline-share', '0.5', '--online-deadline-ms', '2000'], {});
    if (r === 'help') throw new Error('unexpected help');
    expect(r.config.priorityMix).toEqual({ nearlineShare: 0.5, nearlineTimeoutMs: 10_000, onlineDeadlineMs: 2000, nearlineDeadlineMs: null });
    const plain = parseBenchArgs(['--target', 'ids=http://127.0.0.1:30001'], {});
    if (plain === 'help') throw new Error('unexpected help');
    expect(plain.config.priorityMix).toBeNull();
    expect(() => parseBenchArgs(['--target', 'ids=http://x', '--nearline-timeout-ms', '5000'], {})).toThrow(/need --nearline-share/);
    expect(() => parseBenchArgs(['--target', 'ids=http://x', '--nearline-share', '2'], {})).toThrow(/share/);
  });
});
