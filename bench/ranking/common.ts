import { mkdir, writeFile } from 'node:fs/promises';
import type { Child } from '../calibrate/processes.js';
import { join } from 'node:path';
import { causalPairs, stepCostUs } from '../../src/emulator/cost-model.js';
import { profileCost } from '../../src/emulator/profiles.js';
import { type SearchConfig, type SearchResult, type SearchStep, searchMaxRps } from '../loadgen/slo-search.js';
import { type StepMeasurement, runStep } from '../loadgen/step.js';
import type { RequestSource, ScoreTarget } from '../loadgen/target.js';
import { parsePrometheusText, sumMetric } from '../report/prometheus.js';
import { SIMULATED_NOTICE } from '../report/markdown.js';
import { type MachineInfo, describeCpus, machineInfo } from '../report/machine.js';

/**
 * Shared pieces of the ranking-tier benches (bench:shaper, bench:cache, bench:depth): the cost
 * model's capacity, a warm-up, an SLO search with a log line per step, metric scrapes, and
 * writing the JSON and markdown every one of them produces under .bench-out/. Every number
 * these benches produce comes from the emulator's cost model: SIMULATED, never a GPU.
 */
export const OUT_DIR = '.bench-out';
export const PROFILE = 'pruned-375m';

export type Log = (line: string) => void;
export const log: Log = (line) => process.stderr.write(`${line}\n`);

/**
 * Prefill capacity of the modelled GPU in prompts per second when its queue never runs dry:
 * full steps of the per-step token budget (min of SGLang's max-prefill-tokens and chunk size)
 * over prompts of `promptTokens`. Also returns the step's budget and time.
 */
export function gpuCapacity(profile: string, promptTokens: number): { itemsPerSecond: number; stepTokens: number; stepMs: number } {
  const c = profileCost(profile);
  if (c === undefined) throw new Error(`unknown profile ${profile}`);
  const stepTokens = c.chunkedPrefillSize > 0 ? Math.min(c.maxPrefillTokens, c.chunkedPrefillSize) : c.maxPrefillTokens;
  const seqs = stepTokens / promptTokens;
  const stepUs = stepCostUs(c, stepTokens, seqs * causalPairs(promptTokens), seqs);
  return { itemsPerSecond: (seqs / stepUs) * 1e6, stepTokens, stepMs: stepUs / 1000 };
}

/** Unrecorded traffic at a fixed rate: JIT, connection pools, caches and queues reach steady state. */
export async function warmUp(target: ScoreTarget, source: RequestSource, rps: number, seconds: number, seed: number): Promise<StepMeasurement> {
  return runStep(target, source, { rps, burst: null, warmupMs: 0, durationMs: seconds * 1000, timeoutMs: 5000, seed }, new Set());
}

export type SearchOptions = Omit<SearchConfig, 'deadlineMs'> & {
  maxSeconds: number;
  /** Counters to scrape from this /metrics around each measured window (their increase is kept per step). */
  scrape?: { url: string; names: readonly string[] };
};

/**
 * What every ranking bench's SLO search shares: p95 within SLO_MS at under 1% errors, rates
 * growing by 1.25x from the start, refined to 8%. Each bench adds its start, ceiling and step
 * lengths.
 */
export const RANKING_SEARCH = { percentile: 95, maxErrorRate: 0.01, growth: 1.25, minRps: 5, tolerance: 0.08 } as const;

export interface SearchRun extends SearchResult {
  /** Per step index: the increase of each scraped counter over its measured window. */
  scraped: Record<number, Record<string, number | null>>;
}

/** One SLO search with a log line per step. */
export async function search(name: string, target: ScoreTarget, source: RequestSource, o: SearchOptions): Promise<SearchRun> {
  const { maxSeconds, scrape, ...cfg } = o;
  const scraped: Record<number, Record<string, number | null>> = {};
  let before: Promise<Record<string, number | null>> | null = null;
  const result = await searchMaxRps(target, source, { ...cfg, deadlineMs: performance.now() + maxSeconds * 1000 }, {
    beforeMeasure: scrape
      ? () => {
          before = scrapeSums(scrape.url, scrape.names);
          before.catch(() => undefined);
        }
      : undefined,
    afterStep: async (s) => {
      if (scrape && before !== null) {
        try {
          const [a, b] = [await before, await scrapeSums(scrape.url, scrape.names)];
          const d: Record<string, number | null> = {};
          for (const n of scrape.names) d[n] = a[n] == null || b[n] == null ? null : (b[n] as number) - (a[n] as number);
          scraped[s.index] = d;
        } catch {
          // A failed scrape leaves the step without metrics.
        }
        before = null;
      }
      const l = s.latency;
      const nl = s.byClass?.nearline;
      const hits = s.cacheHits ? `, cache hits ${((s.cacheHits / Math.max(1, s.itemsPerSecond * s.durationSeconds)) * 100).toFixed(1)}%` : '';
      log(
        `  ${name}: step ${s.index} ${s.offeredRps.toFixed(1)} rps, ${s.itemsPerSecond.toFixed(0)} items/s, ${s.byClass ? 'online ' : ''}p50 ${l.p50.toFixed(0)} ` +
          `p95 ${l.p95.toFixed(0)} ms${nl && nl.scheduled > 0 ? `, nearline p95 ${nl.latency.p95.toFixed(0)} ms` : ''}${hits}, ${s.errors} errors, ${s.timeouts} timeouts: ` +
          `${s.pass ? 'pass' : `fail (${s.failReasons.join('; ')})`}`,
      );
    },
  });
  const best = bestStep(result);
  log(`  ${name}: ${best === null ? 'no rate met the SLO' : `max ${best.offeredRps.toFixed(1)} rps = ${best.itemsPerSecond.toFixed(0)} items/s`} (${result.stopReason})`);
  return { ...result, scraped };
}

/** The passing step at the highest offered rate (the one searchMaxRps reports), or null. */
export function bestStep(r: SearchResult): SearchStep | null {
  let best: SearchStep | null = null;
  for (const s of r.steps) if (s.pass && (best === null || s.offeredRps > best.offeredRps)) best = s;
  return best;
}

/** Sums of the named metrics in scorecar's own /metrics (backend series skipped); null when absent. */
export async function scrapeSums(url: string, names: readonly string[]): Promise<Record<string, number | null>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const samples = parsePrometheusText(await res.text());
  const out: Record<string, number | null> = {};
  for (const n of names) out[n] = sumMetric(samples, n, 'backend');
  return out;
}

/** Values of a labelled metric by one label (backend series skipped). */
export async function scrapeByLabel(url: string, name: string, label: string): Promise<Record<string, number>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const out: Record<string, number> = {};
  for (const s of parsePrometheusText(await res.text())) {
    if (s.name !== name || 'backend' in s.labels) continue;
    const k = s.labels[label] ?? '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A markdown table from a header row and rows of cells. */
export function mdTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string[] {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export const fmt = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** What every ranking bench's JSON starts with. */
export interface RankingBenchHeader {
  schema: string;
  bench: string;
  simulated: true;
  notice: string;
  emulatorProfile: string;
  createdAt: string;
  durationSeconds: number;
  machine: MachineInfo;
}

export function header(bench: string, startedAt: Date, t0: number): RankingBenchHeader {
  return {
    schema: 'scorecar-ranking-bench/1',
    bench,
    simulated: true,
    notice: SIMULATED_NOTICE,
    emulatorProfile: PROFILE,
    createdAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    machine: machineInfo(),
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.hostname}, ${describeCpus(m)}, Node ${m.node}, load average at the end ${m.loadAverage.map((x) => x.toFixed(1)).join(' ')}`;
}

/** Writes name.json, name.md (and any extra files) under .bench-out/; returns the paths. */
export async function writeOutputs(files: Record<string, string>): Promise<string[]> {
  await mkdir(OUT_DIR, { recursive: true });
  const paths: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const p = join(OUT_DIR, name);
    await writeFile(p, text);
    paths.push(p);
  }
  return paths;
}

/** JSON with non-finite numbers as null (as the bench's own reports write it). */
export function toJson(v: unknown): string {
  return `${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), 2)}\n`;
}

/**
 * Keeps a started child's output (after its ready line) in memory and says when it exits
 * before `stop()`: a crash under load must not pass for a slow target. Returns a function giving
 * the tail of its output.
 */
export function watchChild(name: string, c: Child): () => string {
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-8000);
  };
  c.child.stdout?.on('data', keep);
  c.child.stderr?.on('data', keep);
  let stopping = false;
  const stop = c.stop;
  c.stop = () => {
    stopping = true;
    return stop();
  };
  c.child.once('exit', (code, signal) => {
    if (!stopping) log(`!! ${name} exited unexpectedly (code ${code}, signal ${signal}); last output:\n${tail}`);
  });
  return () => tail;
}
