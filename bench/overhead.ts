import { mkdir, writeFile } from 'node:fs/promises';
import { startEmulator, startScorecar } from './calibrate/processes.js';
import { parseBenchArgs } from './cli.js';
import { runStep } from './loadgen/step.js';
import type { StepMeasurement } from './loadgen/step.js';
import { createTarget, parseTargetSpec } from './loadgen/targets/registry.js';
import { DEFAULT_METRIC_NAMES, diffScrapes, scrapeMetrics } from './report/scrape.js';
import { runBench } from './run.js';
import { buildCorpus } from './workload/corpus.js';
import { CorpusRequestSource } from './workload/requests.js';
import { qwen3Tokenizer } from './workload/tokenizer.js';

/**
 * `npm run bench:overhead`: what scorecar itself costs, against the emulator with ZERO model cost
 * (so everything measured is scorecar, the emulator's HTTP, and the load generator, all sharing
 * this machine's cores):
 *  1. scorecar's ceiling in items/s for 10-item requests of ~900-token items sent as text, with
 *     cold token caches (every item tokenized live) and with every item already token-cached;
 *  2. the latency scorecar adds at 1,000 items/s (100 requests/s), p50 and p99, against the
 *     same requests sent straight to the emulator, interleaved over several rounds;
 *  3. scorecar's GC pause time per 10,000 items, from its own /metrics.
 * The score cache is off and the coalescing window is 0, so every request does the full work.
 */
const ROUNDS = 3;
const STEP_MS = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
}

async function ceiling(label: string, url: string, prewarm: boolean): Promise<{ itemsPerSecond: number | null; gcMsPer10k: number | null; cpuUsPerItem: number | null; newShare: number | null }> {
  const parsed = parseBenchArgs([
    '--target', `${label}:text=${url}`,
    '--corpus', 'full', '--jobs', prewarm ? '600' : '3000', '--queries', '300',
    // Cold: scorecar's token caches are flushed before every step, so each step tokenizes live.
    ...(prewarm ? [] : ['--flush-url', `${url}/scorecar/cache/flush`]),
    '--start-rps', '20', '--growth', '1.5', '--tolerance', '0.08',
    '--step-seconds', '4', '--warmup-seconds', '1', '--max-seconds', '75',
    '--metrics-url', `${url}/metrics`, '--simulated',
    ...(prewarm ? ['--prewarm'] : []),
  ]);
  if (parsed === 'help') throw new Error('unexpected help');
  const report = await runBench(parsed.config, (l) => process.stderr.write(`  ${l}\n`));
  const t = report.targets[0]!;
  const best = t.steps.filter((s) => s.pass).sort((a, b) => b.achievedRps - a.achievedRps)[0];
  const m = best?.scorecar && !('error' in best.scorecar) ? best.scorecar : null;
  return {
    itemsPerSecond: t.bestItemsPerSecond,
    gcMsPer10k: m?.gcPauseMsPer10kItems ?? null,
    cpuUsPerItem: m?.cpuMicrosPerItem ?? null,
    newShare: best && best.scheduled > 0 ? best.firstSeenItems / (best.scheduled * 10) : null,
  };
}

async function main(): Promise<void> {
  await mkdir('.bench-out', { recursive: true });
  const emu = await startEmulator(['--profile', 'zero']);
  const sc = await startScorecar(emu.url, ['--score-cache', 'off', '--coalesce-window-ms', '0']);
  const out: string[] = [];
  try {
    process.stderr.write('ceiling, cold token caches\n');
    const cold = await ceiling('scorecar-text-cold', sc.url, false);
    process.stderr.write('ceiling, token-cached items\n');
    const warm = await ceiling('scorecar-text-cached', sc.url, true);

    // Fixed 100 requests/s of 10 items, interleaved: direct ids, scorecar ids, scorecar text (cached).
    const corpus = buildCorpus({ seed: 1, mode: 'full', jobs: 600, queries: 300 }, qwen3Tokenizer());
    const targets = [
      createTarget(parseTargetSpec(`direct-ids:ids=${emu.url}`), { connections: 256, apiKey: null, labelTokenIds: corpus.template.labelTokenIds }),
      createTarget(parseTargetSpec(`scorecar-ids:ids=${sc.url}`), { connections: 256, apiKey: null, labelTokenIds: corpus.template.labelTokenIds }),
      createTarget(parseTargetSpec(`scorecar-text:text=${sc.url}`), { connections: 256, apiKey: null, labelTokenIds: corpus.template.labelTokenIds }),
    ];
    const p50: number[][] = targets.map(() => []);
    const p99: number[][] = targets.map(() => []);
    const gc: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let t = 0; t < targets.length; t++) {
        const source = new CorpusRequestSource(corpus, { seed: 100 + round, itemsPerRequest: 10, familyAffinity: 0.7, navigation: null });
        const before = t > 0 ? await scrapeMetrics(`${sc.url}/metrics`) : null;
        const m: StepMeasurement = await runStep(targets[t]!, source, { rps: 100, burst: null, warmupMs: 1500, durationMs: STEP_MS, timeoutMs: 2000, seed: 7 + round }, new Set());
        if (before) {
          const d = diffScrapes(before, await scrapeMetrics(`${sc.url}/metrics`), DEFAULT_METRIC_NAMES, m.ok * 10);
          if (d.gcPauseMsPer10kItems !== null) gc.push(d.gcPauseMsPer10kItems);
        }
        p50[t]!.push(m.latency.p50);
        p99[t]!.push(m.latency.p99);
        process.stderr.write(`  round ${round} ${targets[t]!.name}: p50 ${m.latency.p50.toFixed(2)} ms, p99 ${m.latency.p99.toFixed(2)} ms, ${m.errors} errors\n`);
      }
    }
    for (const t of targets) await t.close();
    const med = (a: number[][], t: number): number => median(a[t] as number[]);
    out.push(
      '',
      '# scorecar overhead (emulator with zero model cost; SIMULATED backend, real scorecar)',
      '',
      '| measure | value |',
      '|---|---|',
      `| ceiling, 10 x ~900-token items as text, cold token caches (flushed every step; ${cold.newShare === null ? '—' : (cold.newShare * 100).toFixed(0) + '%'} of items new) | ${cold.itemsPerSecond?.toFixed(0) ?? '—'} items/s (CPU ${cold.cpuUsPerItem?.toFixed(0) ?? '—'} µs/item) |`,
      `| ceiling, same items already token-cached | ${warm.itemsPerSecond?.toFixed(0) ?? '—'} items/s (CPU ${warm.cpuUsPerItem?.toFixed(0) ?? '—'} µs/item) |`,
      `| latency at 1,000 items/s, direct to the emulator (ids) | p50 ${med(p50, 0).toFixed(2)} ms, p99 ${med(p99, 0).toFixed(2)} ms |`,
      `| through scorecar (ids) | p50 ${med(p50, 1).toFixed(2)} ms, p99 ${med(p99, 1).toFixed(2)} ms |`,
      `| through scorecar (text, token-cached) | p50 ${med(p50, 2).toFixed(2)} ms, p99 ${med(p99, 2).toFixed(2)} ms |`,
      `| added by scorecar (ids; text) | p50 +${(med(p50, 1) - med(p50, 0)).toFixed(2)}; +${(med(p50, 2) - med(p50, 0)).toFixed(2)} ms, p99 +${(med(p99, 1) - med(p99, 0)).toFixed(2)}; +${(med(p99, 2) - med(p99, 0)).toFixed(2)} ms |`,
      `| GC pauses per 10,000 items at 1,000 items/s | ${median(gc).toFixed(2)} ms (median of ${gc.length} windows); ceiling runs: cold ${cold.gcMsPer10k?.toFixed(2) ?? '—'} ms, cached ${warm.gcMsPer10k?.toFixed(2) ?? '—'} ms |`,
      '',
      `Medians of ${ROUNDS} interleaved rounds of ${STEP_MS / 1000} s. Score cache off, coalescing window 0.`,
      '',
    );
  } finally {
    await sc.stop();
    await emu.stop();
  }
  const text = out.join('\n');
  await writeFile('.bench-out/overhead.md', text);
  process.stdout.write(text);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:overhead: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
