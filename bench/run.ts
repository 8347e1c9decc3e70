import { request } from 'undici';
import type { BurstConfig } from './loadgen/arrivals.js';
import { type PriorityMix, PriorityMixSource } from './loadgen/priority-mix.js';
import { type SearchConfig, type SearchHooks, type SearchResult, searchMaxRps } from './loadgen/slo-search.js';
import { detectEmulator } from './loadgen/emulator-detect.js';
import { type ScoreTarget, STATUS_TRANSPORT_ERROR } from './loadgen/target.js';
import { type TargetSpec, createTarget } from './loadgen/targets/registry.js';
import { machineInfo } from './report/machine.js';
import { type MetricNames, StepScraper } from './report/scrape.js';
import { type BenchReport, REPORT_SCHEMA, type TargetReport } from './report/types.js';
import { type Corpus, type CorpusMode, buildCorpus } from './workload/corpus.js';
import { CorpusRequestSource, type NavigationConfig } from './workload/requests.js';
import { qwen3Tokenizer } from './workload/tokenizer.js';

/** Everything one bench run needs; the CLI builds it from flags. */
export interface BenchConfig {
  name: string;
  simulated: boolean;
  targets: TargetSpec[];
  sloMs: number;
  percentile: 50 | 90 | 95 | 99;
  maxErrorRate: number;
  startRps: number;
  growth: number;
  minRps: number;
  maxRps: number;
  tolerance: number;
  maxSteps: number;
  warmupMs: number;
  stepMs: number;
  timeoutMs: number;
  cooldownMs: number;
  /** Bound on waiting for a target to drain after a failing step. */
  settleMaxMs: number;
  /** Wall-clock bound of the whole run, corpus building included. */
  maxSeconds: number;
  quick: boolean;
  burst: BurstConfig | null;
  itemsPerRequest: number;
  corpusMode: CorpusMode;
  jobs: number;
  queries: number;
  seed: number;
  navigation: NavigationConfig | null;
  familyAffinity: number;
  /**
   * Online and nearline requests (x-scorecar-priority); null: no class is sent. With a mix, a
   * step's SLO applies to online latency and its error budget counts both classes.
   */
  priorityMix?: PriorityMix | null;
  connections: number;
  apiKey: string | null;
  metricsUrl: string | null;
  metricNames: MetricNames;
  tokenCacheState: 'cold' | 'warm';
  /** Send every corpus item once through each target before its search (fills token caches). */
  prewarm: boolean;
  /** POSTed before every step (e.g. scorecar's cache flush), so every step starts cold. */
  flushUrl: string | null;
}

export type Log = (line: string) => void;

/** Seconds kept back from --max-seconds for closing targets and writing reports. */
const RESERVE_MS = 1500;

/** Runs the SLO search against every target in turn and returns the report. */
export async function runBench(cfg: BenchConfig, log: Log): Promise<BenchReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const deadline = t0 + cfg.maxSeconds * 1000 - RESERVE_MS;

  const corpus = buildCorpus(
    { seed: cfg.seed, mode: cfg.corpusMode, jobs: cfg.jobs, queries: cfg.queries },
    qwen3Tokenizer(),
  );
  const st = corpus.stats;
  log(
    `corpus: ${cfg.corpusMode}, ${st.items} postings, ${st.queries} queries, mean prompt ${st.meanPromptTokens.toFixed(0)} tokens, ` +
      `${(st.truncatedFraction * 100).toFixed(1)}% truncated (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const targets: TargetReport[] = [];
  const notes: string[] = [];
  let simulated = cfg.simulated;
  for (let i = 0; i < cfg.targets.length; i++) {
    const spec = cfg.targets[i] as TargetSpec;
    const target = createTarget(spec, { connections: cfg.connections, apiKey: cfg.apiKey, labelTokenIds: corpus.template.labelTokenIds });
    try {
      const emulator = await detectEmulator(spec.url, cfg.apiKey);
      if (emulator !== null && !simulated) {
        simulated = true;
        notes.push(`Labelled simulated although --simulated was not given: ${target.name} is served by the scorecar emulator.`);
        log(`${target.name}: the backend is the scorecar emulator; the report is labelled simulated`);
      }
      const share = (deadline - performance.now()) / (cfg.targets.length - i);
      const result = await benchTarget(target, corpus, cfg, performance.now() + share, log);
      targets.push({ name: target.name, kind: target.kind, url: target.url, emulatorProfile: emulator?.profile ?? null, ...result });
      if (result.stopReason === 'budget') notes.push(`${target.name}: stopped by the time budget (--max-seconds) before converging.`);
      if (result.steps.some((s) => s.generatorLagging)) {
        notes.push(`${target.name}: the load generator fell behind its schedule in some steps; their latencies include its own lag.`);
      }
    } finally {
      await target.close();
    }
  }
  if (cfg.tokenCacheState === 'cold') {
    notes.push('Token caches labelled cold: only items a target had not been sent before are cold (see firstSeenItems per step).');
  }
  if (simulated) notes.push('Simulated run: the backend is the SGLang emulator; its cost model stands in for a GPU.');
  const mix = cfg.priorityMix ?? null;
  if (mix !== null) {
    notes.push(
      `Priority mix: ${(mix.nearlineShare * 100).toFixed(0)}% of requests sent as nearline (timeout ${mix.nearlineTimeoutMs} ms` +
        `${mix.nearlineDeadlineMs === null ? '' : `, deadline ${mix.nearlineDeadlineMs} ms`}), the rest online` +
        `${mix.onlineDeadlineMs === null ? '' : ` (deadline ${mix.onlineDeadlineMs} ms)`}; ` +
        'step latencies and the SLO are the online class\'s, errors and timeouts count both classes; per-class figures in steps[].byClass.',
    );
  }

  return {
    schema: REPORT_SCHEMA,
    name: cfg.name,
    simulated,
    createdAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    machine: machineInfo(),
    tokenCacheState: cfg.tokenCacheState,
    config: {
      slo: { percentile: cfg.percentile, ms: cfg.sloMs, maxErrorRate: cfg.maxErrorRate },
      search: {
        startRps: cfg.startRps,
        growth: cfg.growth,
        minRps: cfg.minRps,
        maxRps: cfg.maxRps,
        tolerance: cfg.tolerance,
        maxSteps: cfg.maxSteps,
        warmupSeconds: cfg.warmupMs / 1000,
        stepSeconds: cfg.stepMs / 1000,
        timeoutMs: cfg.timeoutMs,
        cooldownMs: cfg.cooldownMs,
        settleMaxMs: cfg.settleMaxMs,
        maxSeconds: cfg.maxSeconds,
        quick: cfg.quick,
      },
      arrivals: { process: cfg.burst ? 'on-off' : 'poisson', burst: cfg.burst },
      itemsPerRequest: cfg.itemsPerRequest,
      connections: cfg.connections,
      seed: cfg.seed,
      metrics: { url: cfg.metricsUrl, names: cfg.metricNames },
    },
    workload: {
      mode: corpus.mode,
      template: corpus.template.name,
      templateVersion: corpus.template.version,
      seed: corpus.seed,
      stats: corpus.stats,
      navigation: cfg.navigation,
      familyAffinity: cfg.familyAffinity,
    },
    targets,
    notes,
  };
}

async function benchTarget(
  target: ScoreTarget,
  corpus: Corpus,
  cfg: BenchConfig,
  deadlineMs: number,
  log: Log,
): Promise<SearchResult> {
  const corpusSource = new CorpusRequestSource(corpus, {
    seed: cfg.seed,
    itemsPerRequest: cfg.itemsPerRequest,
    familyAffinity: cfg.familyAffinity,
    navigation: cfg.navigation,
  });
  const mix = cfg.priorityMix ?? null;
  const source = mix === null ? corpusSource : new PriorityMixSource(corpusSource, mix, cfg.seed);
  await preflight(target, source.next(performance.now()), cfg.timeoutMs);
  const seen = cfg.prewarm ? await prewarm(target, corpus, cfg, deadlineMs, log) : new Set<number>();

  const search: SearchConfig = {
    sloMs: cfg.sloMs,
    percentile: cfg.percentile,
    maxErrorRate: cfg.maxErrorRate,
    startRps: cfg.startRps,
    growth: cfg.growth,
    minRps: cfg.minRps,
    maxRps: cfg.maxRps,
    tolerance: cfg.tolerance,
    maxSteps: cfg.maxSteps,
    warmupMs: cfg.warmupMs,
    stepMs: cfg.stepMs,
    timeoutMs: cfg.timeoutMs,
    cooldownMs: cfg.cooldownMs,
    settleMaxMs: cfg.settleMaxMs,
    burst: cfg.burst,
    seed: cfg.seed,
    deadlineMs,
  };
  const scraper = cfg.metricsUrl ? new StepScraper(cfg.metricsUrl, cfg.metricNames) : null;
  const hooks: SearchHooks = {
    beforeMeasure: scraper ? () => scraper.begin() : undefined,
    beforeStep: cfg.flushUrl
      ? async () => {
          const r = await request(cfg.flushUrl as string, { method: 'POST', headers: cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {} });
          await r.body.dump();
          if (r.statusCode !== 200) throw new Error(`POST ${cfg.flushUrl}: HTTP ${r.statusCode}`);
          // Every item is new again to the target.
          seen.clear();
        }
      : undefined,
    afterStep: async (s) => {
      if (scraper) s.scorecar = await scraper.end(Math.round(s.itemsPerSecond * s.durationSeconds));
      const l = s.latency;
      const nl = s.byClass?.nearline;
      log(
        `${target.name}: step ${s.index} ${s.phase} ${s.offeredRps.toFixed(1)} rps -> ${s.achievedRps.toFixed(1)} rps, ` +
          `${s.byClass ? 'online ' : ''}p50 ${l.p50.toFixed(1)} p95 ${l.p95.toFixed(1)} p99 ${l.p99.toFixed(1)} ms, ` +
          `${nl ? `nearline p95 ${nl.latency.p95.toFixed(0)} ms, ` : ''}${s.errors} errors, ${s.timeouts} timeouts: ` +
          `${s.pass ? 'pass' : `fail (${s.failReasons.join('; ')})`}`,
      );
    },
  };
  const result = await searchMaxRps(target, source, search, hooks, seen);
  log(
    `${target.name}: ${result.bestRps === null ? 'no rate met the SLO' : `max ${result.bestRps.toFixed(1)} rps = ${(result.bestItemsPerSecond ?? 0).toFixed(0)} items/s`} (${result.stopReason})`,
  );
  return result;
}

/** One request before timing anything: a wrong URL or schema should fail loudly, not as a curve. */
async function preflight(target: ScoreTarget, req: Parameters<ScoreTarget['send']>[0], timeoutMs: number): Promise<void> {
  let status: number;
  try {
    status = (await target.send(req, AbortSignal.timeout(Math.ceil(Math.max(timeoutMs, 5000))))).status;
  } catch (e) {
    throw new Error(`${target.name} (${target.url}) did not answer a first request: ${(e as Error).message}`);
  }
  if (status !== 200) {
    const why = status === STATUS_TRANSPORT_ERROR ? 'transport error' : status < 0 ? 'malformed scores' : `HTTP ${status}`;
    throw new Error(`${target.name} (${target.url}) answered a first request with ${why}`);
  }
}

/**
 * Every corpus item once, a few requests at a time, within a fifth of the target's budget, so a
 * run labelled warm starts with scorecar's item token cache filled. Returns the ids answered.
 */
async function prewarm(target: ScoreTarget, corpus: Corpus, cfg: BenchConfig, deadlineMs: number, log: Log): Promise<Set<number>> {
  const stopAt = performance.now() + (deadlineMs - performance.now()) / 5;
  const warmed = new Set<number>();
  const query = corpus.queries[0];
  if (query === undefined) return warmed;
  let nextItem = 0;
  const worker = async (): Promise<void> => {
    while (nextItem < corpus.items.length && performance.now() < stopAt) {
      const items = corpus.items.slice(nextItem, nextItem + cfg.itemsPerRequest);
      nextItem += items.length;
      const r = await target
        .send({ query, items, page: 1, session: -1 }, AbortSignal.timeout(Math.ceil(cfg.timeoutMs * 4)))
        .catch(() => null);
      if (r?.status === 200) for (const it of items) warmed.add(it.id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, () => worker()));
  log(`${target.name}: prewarm answered ${warmed.size} of ${corpus.items.length} items`);
  return warmed;
}
