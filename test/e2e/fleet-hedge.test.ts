import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { emulator, failures, load, p95, score, sidecar, until } from './fleet-harness.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  open = [];
});

describe('hedging (--hedge)', () => {
  it("a backend that sometimes never answers: the hedge to the other backend wins after the fleet's p95, the stalled copy is aborted", async () => {
    const emus = [await emulator(), await emulator()] as [RunningEmulator, RunningEmulator];
    open.push(...emus);
    const sc: RunningSidecar = await sidecar([
      ...emus.flatMap((e) => ['--backend', e.url]),
      '--hedge',
      '--retry-budget-ratio',
      '0.5',
      '--backend-timeout-ms',
      '30000',
    ]);
    open.push(sc);
    // Latency samples first: no hedge is sent before the p95 is known.
    for (let i = 0; i < 60; i++) expect((await score(sc.url)).status).toBe(200);
    emus[0].context.faults.update({ stallRate: 0.1 });
    const run = load(sc.url, 4);
    await until(() => run.answers.length >= 300, 60_000, '300 answers');
    const answers = await run.stop();
    expect(failures(answers)).toEqual([]);
    const [stalling, healthy] = emus.map((e) => sc.backends.backends.find((b) => b.url === e.url)!);
    expect(healthy!.stats.hedgesWon).toBeGreaterThan(0);
    // Without the hedge a stalled call would wait for the 30 s backend timeout.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(10_000);
    expect(p95(answers.map((a) => a.ms))).toBeLessThan(2000);
    // Every lost copy was aborted: nothing is left in flight at the stalling backend.
    await until(() => stalling!.inflight === 0, 5000, 'no call left in flight');
    expect(stalling!.stats.errors.timeout).toBe(0);
  }, 120_000);
});
