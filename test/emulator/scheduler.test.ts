import { describe, expect, it } from 'vitest';
import { ZERO_COST, batchTokenizeSpeedup, causalPairs, packPairs, stepCostUs, tokenizeCostUs } from '../../src/emulator/cost-model.js';
import { VirtualClock } from '../../src/control/virtual-clock.js';
import { virtualTime } from '../../src/emulator/clock.js';
import { PrefillScheduler, SerialResource } from '../../src/emulator/scheduler.js';

describe('cost model', () => {
  it('counts attention pairs: causal prompts, and a shared MIS prefix once', () => {
    expect(causalPairs(3)).toBe(6);
    const prefix = 50;
    const items = [150, 150];
    // A pack pays the prefix once; separate prompts pay it per item.
    expect(packPairs(prefix, items)).toBeLessThan(items.reduce((s, n) => s + causalPairs(prefix + n), 0));
    expect(stepCostUs({ ...ZERO_COST, stepLaunchUs: 100, perTokenUs: 2, attnUs: 0.01, perSeqUs: 5 }, 10, 100, 2)).toBe(100 + 20 + 1 + 10);
  });

  it("follows the paper's batch-tokenization speedups", () => {
    expect(batchTokenizeSpeedup(1)).toBe(1);
    expect(batchTokenizeSpeedup(2)).toBeCloseTo(1.7);
    expect(batchTokenizeSpeedup(8)).toBeCloseTo(5.2);
    const p = { ...ZERO_COST, tokenizePerTextUs: 100, tokenizePerTokenUs: 1, batchTokenize: true };
    expect(tokenizeCostUs(p, [100, 100])).toBeCloseTo(400 / 1.7);
  });
});

describe('continuous-batching prefill scheduler', () => {
  it('with zero cost answers at once', async () => {
    const s = new PrefillScheduler(ZERO_COST);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 100 }, () => s.run([100, 200], [1, 1])));
    expect(performance.now() - t0).toBeLessThan(200);
    expect(s.stats.tokens).toBe(100 * 300);
  });

  it('batches queued sequences into steps under the token budget, chunking long prompts', () => {
    const vc = new VirtualClock();
    const cost = { ...ZERO_COST, stepLaunchUs: 5000, maxPrefillTokens: 1000, chunkedPrefillSize: 1000 };
    const s = new PrefillScheduler(cost, virtualTime(vc));
    let doneAt = -1;
    // 2,500 tokens in one prompt: three steps of at most 1,000 tokens, 5 ms each.
    s.submit([2500], [causalPairs(2500)], () => (doneAt = vc.now()));
    vc.advanceTo(1000);
    expect(s.stats.steps).toBe(3);
    expect(doneAt).toBe(15);
  });

  it('serves a burst in fewer steps than requests (continuous batching)', async () => {
    const s = new PrefillScheduler({ ...ZERO_COST, stepLaunchUs: 2000, maxPrefillTokens: 16384, chunkedPrefillSize: 8192 });
    await Promise.all(Array.from({ length: 40 }, () => s.run([100], [causalPairs(100)])));
    expect(s.stats.steps).toBeLessThan(5);
  });

  it('drops an aborted request\'s queued sequences, as SGLang aborts a disconnected client', async () => {
    const s = new PrefillScheduler({ ...ZERO_COST, stepLaunchUs: 20_000, maxPrefillTokens: 100, chunkedPrefillSize: 100 });
    const first = s.run([100], [1]);
    let ticket: { abort(): void } | null = null;
    const second = s.run([100, 100, 100], [1, 1, 1], (t) => (ticket = t));
    ticket!.abort();
    await Promise.all([first, second]);
    // Wait for the scheduler to pass the dropped sequences.
    await new Promise((r) => setTimeout(r, 60));
    expect(s.stats.aborted).toBe(3);
    expect(s.stats.tokens).toBe(100);
  });

  it('keeps a serial resource busy back to back', () => {
    const vc = new VirtualClock();
    const r = new SerialResource(virtualTime(vc));
    const done: number[] = [];
    for (let k = 0; k < 3; k++) r.acquire(10_000, () => done.push(vc.now()));
    vc.advanceTo(100);
    expect(done).toEqual([10, 20, 30]);
  });
});
