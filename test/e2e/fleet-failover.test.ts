import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { emulator, failures, load, p95, score, scoreCalls, sidecar, sleep, until } from './fleet-harness.js';

/**
 * The fleet under faults, in-process: emulators with fault knobs behind one scorecar. Every
 * assertion is about statuses, counts and shares; the one latency bound has a wide margin.
 */
let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  open = [];
});

async function fleet(n: number, args: string[] = []): Promise<{ emus: RunningEmulator[]; sc: RunningSidecar }> {
  const emus: RunningEmulator[] = [];
  for (let i = 0; i < n; i++) emus.push(await emulator());
  open.push(...emus);
  const sc = await sidecar([...emus.flatMap((e) => ['--backend', e.url]), ...args]);
  open.push(sc);
  return { emus, sc };
}

function backendOf(sc: RunningSidecar, e: RunningEmulator) {
  const b = sc.backends.backends.find((x) => x.url === e.url);
  if (b === undefined) throw new Error(`no backend ${e.url}`);
  return b;
}

describe('fleet failover', () => {
  it('3 backends under steady load, one killed mid-run: no failed client request', async () => {
    const { emus, sc } = await fleet(3);
    const run = load(sc.url, 6);
    await until(() => run.answers.length >= 150, 20_000, '150 answers before the kill');
    const victim = emus[1] as RunningEmulator;
    await victim.close();
    const atKill = run.answers.length;
    await until(() => run.answers.length >= atKill + 300, 30_000, '300 answers after the kill');
    const answers = await run.stop();
    expect(failures(answers)).toEqual([]);
    // The survivors took the traffic after the kill.
    const b = backendOf(sc, victim);
    expect(b.healthy && b.outlier.state === 'closed').toBe(false);
    for (const e of [emus[0], emus[2]] as RunningEmulator[]) expect(scoreCalls(e)).toBeGreaterThan(100);
  }, 90_000);

  it('a backend answering 500 to scoring while /health is 200 is ejected within 5 failed calls (+ calls already in flight), no client error', async () => {
    const { emus, sc } = await fleet(3, ['--eject-consecutive-failures', '5', '--eject-base-ms', '60000', '--eject-max-ms', '60000']);
    for (let i = 0; i < 30; i++) expect((await score(sc.url)).status).toBe(200);
    const bad = emus[2] as RunningEmulator;
    const before = scoreCalls(bad);
    bad.context.faults.update({ errorRate: 1 });
    const workers = 3;
    const run = load(sc.url, workers);
    await until(() => run.answers.length >= 300, 30_000, '300 answers');
    const answers = await run.stop();
    expect(failures(answers)).toEqual([]);
    const b = backendOf(sc, bad);
    expect(b.healthy).toBe(true); // /health still says 200
    expect(b.outlier.state).toBe('open');
    expect(b.outlier.ejections).toBe(1);
    // 5 consecutive failures eject it; calls already on their way when the fifth failed may
    // still arrive (at most one per other client), nothing after.
    const failed = scoreCalls(bad) - before;
    expect(failed).toBeGreaterThanOrEqual(5);
    expect(failed).toBeLessThanOrEqual(5 + workers - 1);
    expect(b.stats.errors['5xx']).toBe(failed);
  }, 90_000);

  it('a backend 400 ms slower gets a small share of the calls, and p95 stays within the 500 ms SLO', async () => {
    const { emus, sc } = await fleet(3);
    const slow = emus[0] as RunningEmulator;
    slow.context.faults.update({ extraLatencyMs: 400 });
    const before = emus.map(scoreCalls);
    const run = load(sc.url, 8);
    await until(() => run.answers.length >= 600, 60_000, '600 answers');
    const answers = await run.stop();
    expect(failures(answers)).toEqual([]);
    const calls = emus.map((e, i) => scoreCalls(e) - (before[i] as number));
    const total = calls.reduce((a, b) => a + b, 0);
    const slowShare = (calls[0] as number) / total;
    const p95Ms = p95(answers.map((a) => a.ms));
    console.log(`slow backend: ${calls[0]} of ${total} calls (${(slowShare * 100).toFixed(1)}%), client p95 ${p95Ms.toFixed(0)} ms`);
    // An even split would give it a third; least outstanding tokens gives it only what the
    // fast two cannot take at once. Measured on the 2-vCPU VM: 1.0% of calls, client p95 10 ms;
    // the bounds below leave 10x and 50x of room.
    expect(slowShare).toBeLessThan(0.1);
    expect(p95Ms).toBeLessThan(500);
  }, 120_000);

  it('all backends down: 503 with Retry-After in the SGLang envelope; back up: traffic resumes on all', async () => {
    const { emus, sc } = await fleet(2, ['--eject-base-ms', '300', '--eject-max-ms', '1000']);
    const ports = emus.map((e) => e.port);
    for (const e of emus) await e.close();
    await until(async () => (await score(sc.url)).status === 503, 10_000, '503 once both are down');
    const down = await score(sc.url);
    expect(down.status).toBe(503);
    expect(Number(down.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(down.text)).toMatchObject({ object: 'error', code: 503, type: 'ServiceUnavailableError' });
    const again: RunningEmulator[] = [];
    for (const port of ports) again.push(await emulator({ port }));
    open.push(...again);
    await until(async () => (await score(sc.url)).status === 200, 15_000, 'first 200 after restart');
    const run = load(sc.url, 4);
    try {
      await until(() => again.every((e) => scoreCalls(e) > 10), 20_000, 'traffic on both restarted backends');
    } finally {
      expect(failures(await run.stop())).toEqual([]);
    }
  }, 90_000);

  it('all backends ejected (500s while /health is 200): 503 with Retry-After until the half-open trial re-admits them', async () => {
    const { emus, sc } = await fleet(2, ['--eject-consecutive-failures', '3', '--eject-base-ms', '500', '--eject-max-ms', '2000']);
    for (const e of emus) e.context.faults.update({ errorRate: 1 });
    // Until both are ejected the backends' 500 is relayed (nothing left to retry on).
    await until(async () => (await score(sc.url)).status === 503, 10_000, '503 once both are ejected');
    const r = await score(sc.url);
    expect(r.status).toBe(503);
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(r.text).toMatch(/ejected/);
    for (const e of emus) e.context.faults.update({ errorRate: 0 });
    await until(async () => (await score(sc.url)).status === 200, 15_000, 'a 200 after the faults cleared');
    // Each ejected backend is re-admitted by a trial call, which only traffic provides.
    const run = load(sc.url, 4);
    await until(() => sc.backends.backends.every((b) => b.outlier.state === 'closed'), 15_000, 'both re-admitted');
    const before = emus.map(scoreCalls);
    const mark = run.answers.length;
    await until(() => run.answers.length >= mark + 100, 20_000, '100 answers after re-admission');
    expect(failures(await run.stop())).toEqual([]);
    emus.forEach((e, i) => expect(scoreCalls(e) - (before[i] as number)).toBeGreaterThan(5));
  }, 90_000);

  it('retries stay within the budget: with every backend failing, at most 20% more calls than requests', async () => {
    const { emus, sc } = await fleet(2, ['--retry-min-per-s', '0', '--eject-consecutive-failures', '1000000', '--coalesce-window-ms', '0']);
    for (const e of emus) e.context.faults.update({ errorRate: 1 });
    const before = emus.map(scoreCalls);
    const n = 200;
    for (let i = 0; i < n; i++) expect((await score(sc.url)).status).toBe(500); // relayed
    const calls = emus.reduce((sum, e, i) => sum + scoreCalls(e) - (before[i] as number), 0);
    expect(calls).toBeGreaterThan(n); // some were retried
    expect(calls).toBeLessThanOrEqual(n * 1.2 + 1);
  }, 60_000);
});
