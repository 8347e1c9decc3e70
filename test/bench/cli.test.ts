import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseBenchArgs, runBenchCli } from '../../bench/cli.js';
import type { BenchReport } from '../../bench/report/types.js';
import type { ScorecarStepMetrics } from '../../bench/report/scrape.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';

describe('flags', () => {
  it('defaults follow the paper: p95 <= 500 ms, 10 items per request, Poisson', () => {
    const r = parseBenchArgs(['--target', 'text=http://127.0.0.1:30000'], {});
    if (r === 'help') throw new Error('unexpected help');
    const c = r.config;
    expect(c.targets).toEqual([{ label: null, kind: 'text', url: 'http://127.0.0.1:30000' }]);
    expect([c.sloMs, c.percentile, c.itemsPerRequest, c.burst, c.simulated]).toEqual([500, 95, 10, null, false]);
    expect([c.stepMs, c.maxSeconds, c.timeoutMs, c.tokenCacheState]).toEqual([10_000, 600, 2000, 'cold']);
    expect(r.outputs).toEqual({ json: null, md: null, svg: null });
  });

  it('--quick, labels, bursts, navigation and metric names', () => {
    const r = parseBenchArgs([
      '--target', 'direct:text=http://127.0.0.1:30000',
      '--target', 'scorecar:ids=http://127.0.0.1:30001/v1/score',
      '--quick', '--bursty', '--burst-ratio', '4', '--navigation', '--revisit-seconds', '30',
      '--metric-name', 'itemsTotal=a_total', '--metric-name', 'itemsTotal=b_total', '--corpus', 'full', '--prewarm', '--json', 'out/r.json',
    ], {});
    if (r === 'help') throw new Error('unexpected help');
    const c = r.config;
    expect(c.targets.map((t) => `${t.label}:${t.kind}`)).toEqual(['direct:text', 'scorecar:ids']);
    expect([c.quick, c.stepMs, c.maxSeconds, c.growth, c.jobs]).toEqual([true, 2000, 55, 3, 300]);
    expect(c.burst).toEqual({ ratio: 4, onSeconds: 1, offSeconds: 4 });
    expect(c.navigation?.meanRevisitSeconds).toBe(30);
    expect(c.metricNames.itemsTotal).toEqual(['a_total', 'b_total']);
    expect([c.corpusMode, c.tokenCacheState, r.outputs.json]).toEqual(['full', 'warm', 'out/r.json']);
  });

  it('takes SCORECAR_* environment variables, with flags winning', () => {
    const env = { SCORECAR_TARGET: 'ids=http://127.0.0.1:30001', SCORECAR_SLO_MS: '250', SCORECAR_QUICK: 'true', SCORECAR_SEED: '9' };
    const r = parseBenchArgs(['--seed', '3'], env);
    if (r === 'help') throw new Error('unexpected help');
    expect(r.config.targets[0]?.kind).toBe('ids');
    expect([r.config.sloMs, r.config.timeoutMs, r.config.quick, r.config.seed]).toEqual([250, 1000, true, 3]);
    expect(() => parseBenchArgs([], { SCORECAR_SLO_MS: 'fast', SCORECAR_TARGET: 'text=http://x' })).toThrow(/SCORECAR_SLO_MS/);
  });

  it('rejects bad usage with exit code 2 and a message', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let messages = '';
    try {
      const bad = [
        [],
        ['--target', 'grpcx=http://x'],
        ['--target', 'text:http://x'],
        ['--target', 'text=http://x', '--slo-ms', 'fast'],
        ['--target', 'text=http://x', '--burst-ratio', '2'],
        ['--target', 'text=http://x', '--bursty', '--burst-ratio', '9'],
        ['--target', 'text=http://x', '--corpus', 'medium'],
        ['--target', 'text=http://x', '--timeout-ms', '100'],
        ['--target', 'text=http://x', '--metric-name', 'nope=x'],
        ['--target', 'text=http://x', '--unknown'],
      ];
      for (const argv of bad) expect(await runBenchCli(argv)).toBe(2);
    } finally {
      messages = err.mock.calls.map((c) => String(c[0])).join('\n');
      err.mockRestore();
    }
    expect(messages).toMatch(/at least one --target/);
    expect(messages).toMatch(/unknown target kind "grpcx"/);
    expect(messages).toMatch(/cannot keep the mean rate/);
    expect(messages).toMatch(/above the SLO/);
  });
});

describe('scorecar bench against the emulator', () => {
  let emu: RunningEmulator;
  let dir = '';

  beforeAll(async () => {
    // ~9 ms of modelled GPU per 10-item summarized request: a few dozen requests/s of capacity.
    emu = await startEmulator({
      port: 0,
      profile: 'bench-test',
      cost: {
        stepLaunchUs: 2000, perTokenUs: 4, attnUs: 0, perSeqUs: 0, maxPrefillTokens: 16384, chunkedPrefillSize: 8192,
        requestOverheadUs: 0, frontEndPerRequestUs: 0, frontEndPerSeqUs: 0, frontEndPerTokenUs: 0, frontEndCurve: [], tokenizePerTextUs: 0, tokenizePerTokenUs: 0, batchTokenize: false, decodeStepUs: 0,
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'scorecar-bench-'));
  }, 60_000);

  afterAll(async () => {
    await emu?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('searches both targets within the budget and writes simulated JSON, markdown and SVG', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const started = performance.now();
    let rc: number;
    let printed = '';
    try {
      rc = await runBenchCli([
        '--target', `direct-ids:ids=${emu.url}`,
        '--target', `direct-text:text=${emu.url}`,
        // No --simulated: the emulator's /server_info must be enough to label the report.
        '--name', 'e2e', '--quick', '--max-seconds', '16',
        '--step-seconds', '1', '--warmup-seconds', '0.3', '--timeout-ms', '1000', '--settle-max-ms', '1500',
        '--start-rps', '10', '--jobs', '60', '--queries', '30', '--seed', '7', '--prewarm',
        '--metrics-url', `${emu.url}/metrics`,
        '--json', join(dir, 'r.json'), '--md', join(dir, 'r.md'), '--svg', join(dir, 'sub', 'r.svg'),
      ]);
    } finally {
      printed = out.mock.calls.map((c) => String(c[0])).join('');
      out.mockRestore();
      err.mockRestore();
    }
    expect(rc).toBe(0);
    expect(performance.now() - started).toBeLessThan(16_000);
    expect(printed).toMatch(/^SIMULATED\n\n\| target \| kind \| max RPS/);

    const r = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8')) as BenchReport;
    expect(r.simulated).toBe(true);
    expect(r.notes.join(' ')).toMatch(/served by the scorecar emulator/);
    expect(r.targets.map((t) => t.emulatorProfile)).toEqual(['bench-test', 'bench-test']);
    expect(r.name).toBe('e2e');
    expect(r.workload.stats.items).toBe(60);
    expect(r.config.slo).toEqual({ percentile: 95, ms: 500, maxErrorRate: 0.01 });
    expect(r.targets.map((t) => t.name)).toEqual(['direct-ids', 'direct-text']);
    const ids = r.targets[0] as BenchReport['targets'][number];
    expect(ids.kind).toBe('ids');
    expect(ids.url).toBe(`${emu.url}/v1/score`);
    expect(ids.steps.length).toBeGreaterThanOrEqual(2);
    expect(ids.bestRps).toBeGreaterThanOrEqual(10);
    const first = ids.steps[0] as BenchReport['targets'][number]['steps'][number];
    expect(first.pass).toBe(true);
    // --prewarm sent all 60 postings first: nothing in the measured steps is new to the target.
    expect(r.tokenCacheState).toBe('warm');
    expect(ids.steps.every((s) => s.firstSeenItems === 0)).toBe(true);
    expect(first.ok).toBeGreaterThan(0);
    expect(first.latency.p50).toBeGreaterThan(0);
    // The emulator exports none of scorecar's metrics: the slot says what is missing.
    const m = first.scorecar as ScorecarStepMetrics;
    expect(m.itemsSource).toBe('client');
    expect(m.missing).toContain('cpuSecondsTotal');

    const md = await readFile(join(dir, 'r.md'), 'utf8');
    expect(md.startsWith('# scorecar bench: e2e (simulated)')).toBe(true);
    const svg = await readFile(join(dir, 'sub', 'r.svg'), 'utf8');
    expect(svg).toContain('<title>scorecar bench: e2e (SIMULATED)</title>');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  }, 40_000);

  it('fails with exit code 1 when a target does not answer', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let messages = '';
    try {
      const rc = await runBenchCli(['--target', 'ids=http://127.0.0.1:9', '--quick', '--jobs', '20', '--queries', '5']);
      expect(rc).toBe(1);
    } finally {
      messages = err.mock.calls.map((c) => String(c[0])).join('');
      err.mockRestore();
    }
    expect(messages).toMatch(/did not answer a first request/);
  }, 30_000);
});
