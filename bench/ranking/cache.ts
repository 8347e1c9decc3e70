import { type Child, startEmulator, startScorecar } from '../calibrate/processes.js';
import type { SearchStep } from '../loadgen/slo-search.js';
import { HttpScoreTarget } from '../loadgen/targets/http-score.js';
import { SIMULATED_NOTICE } from '../report/markdown.js';
import { buildCorpus } from '../workload/corpus.js';
import { CorpusRequestSource, DEFAULT_NAVIGATION, type NavigationConfig } from '../workload/requests.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import {
  PROFILE,
  type SearchRun,
  bestStep,
  fmt,
  gpuCapacity,
  header,
  log,
  machineLine,
  mdTable,
  search,
  toJson,
  warmUp,
  watchChild,
  writeOutputs,
  RANKING_SEARCH,
} from './common.js';

/**
 * `npm run bench:cache` (issue 4): scorecar's score cache under page-navigation traffic, off and
 * on (memory), in one run against one emulator (pruned-375m, summarized postings; SIMULATED GPU).
 *
 * Searchers come back to the same query for the next page (same candidates, 10% churn) with
 * probability 0.5 per page, up to 5 pages. In production the next page comes minutes later
 * (the workload's default mean is 90 s) and the paper's cache keeps scores 15 minutes; here the
 * mean revisit delay is 5 s so that revisits happen many times within a one-minute search, and
 * the cache's 900 s TTL never expires during the run, just as a 90 s revisit never outlives a
 * 15-minute TTL. Two scorecar processes (--score-cache off / memory) on the same emulator get
 * the same request stream and arrivals; each is warmed with 20 s of the same traffic first, so
 * pending revisits and the cache are in steady state when its search starts.
 */
const SEED = 1;
const SLO_MS = 500;
const TIMEOUT_MS = 2000;
const REVISIT_SECONDS = 5;
const WARM_SECONDS = 20;
const SEARCH_SECONDS = 75;
/**
 * 3,000 postings and 5,000 queries rather than the harness default (1,000 and 500): with 500
 * queries, many of them the same few words ("nurse", "data analyst"), and ~80 postings per job
 * family, (query, posting) pairs repeat across unrelated searches so often that the hit ratio
 * keeps climbing with total traffic (69% to 89% within one search in a trial run): a measure of
 * the corpus's size, not of page navigation. The larger corpus keeps most hits on revisits; the
 * report splits hits by page so the rest is visible.
 */
const JOBS = 3000;
const QUERIES = 5000;
const CACHE_METRICS = ['scorecar_score_cache_hits_total', 'scorecar_score_cache_misses_total'] as const;

interface Run {
  setup: 'off' | 'memory';
  result: SearchRun;
  best: SearchStep | null;
}

const share = (hits: number, items: number): number | null => (items > 0 ? hits / items : null);
const pct = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`);

/** Client-side hit ratio of a step: x-scorecar-cache-hits over items answered. */
function clientHitRatio(s: SearchStep): number | null {
  return s.cacheHits === null ? null : share(s.cacheHits, s.itemsPerSecond * s.durationSeconds);
}

/** scorecar's own hit ratio over a step's window, from its score-cache counters. */
function serverHitRatio(r: SearchRun, s: SearchStep): number | null {
  const d = r.scraped[s.index];
  const h = d?.scorecar_score_cache_hits_total;
  const m = d?.scorecar_score_cache_misses_total;
  return h == null || m == null ? null : share(h, h + m);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const corpus = buildCorpus({ seed: SEED, mode: 'summarized', jobs: JOBS, queries: QUERIES }, qwen3Tokenizer());
  const cap = gpuCapacity(PROFILE, corpus.stats.meanPromptTokens);
  const navigation: NavigationConfig = { ...DEFAULT_NAVIGATION, meanRevisitSeconds: REVISIT_SECONDS };
  const pagesPerSearch = Array.from({ length: navigation.maxPages }, (_, k) => navigation.revisitProbability ** k).reduce((a, b) => a + b, 0);
  const revisitShare = 1 - 1 / pagesPerSearch;
  log(
    `corpus: ${corpus.items.length} summarized postings, ${corpus.queries.length} queries, mean prompt ${corpus.stats.meanPromptTokens.toFixed(0)} tokens; ` +
      `modelled GPU (SIMULATED) ${cap.itemsPerSecond.toFixed(0)} items/s; navigation: ${pagesPerSearch.toFixed(2)} pages per search, ` +
      `${(revisitShare * 100).toFixed(0)}% of requests are revisits`,
  );

  const emu = await startEmulator(['--profile', PROFILE]);
  watchChild('emulator', emu);
  const runs: Run[] = [];
  const scorecars: Child[] = [];
  try {
    const startRps = +((0.8 * cap.itemsPerSecond) / 10).toFixed(1);
    for (const setup of ['off', 'memory'] as const) {
      const sc = await startScorecar(emu.url, ['--score-cache', setup]);
      scorecars.push(sc);
      watchChild(`scorecar (cache ${setup})`, sc);
      log(`\nscore cache ${setup}`);
      // The same request stream (seed) for both: the same searches, pages and candidates.
      const source = new CorpusRequestSource(corpus, { seed: SEED, itemsPerRequest: 10, familyAffinity: 0.7, navigation });
      const target = new HttpScoreTarget({ name: `cache ${setup}`, url: sc.url, encoding: 'ids', labelTokenIds: corpus.template.labelTokenIds, connections: 256, apiKey: null });
      try {
        const w = await warmUp(target, source, startRps * 0.6, WARM_SECONDS, SEED);
        log(`  warm-up: ${w.ok} requests, ${w.errors + w.timeouts} lost, source has ${source.pendingRevisits} revisits pending`);
        const result = await search(`cache ${setup}`, target, source, {
          ...RANKING_SEARCH,
          sloMs: SLO_MS,
          startRps,
          maxRps: 5000,
          maxSteps: 14,
          warmupMs: 1500,
          stepMs: 6000,
          timeoutMs: TIMEOUT_MS,
          cooldownMs: 200,
          settleMaxMs: 3 * TIMEOUT_MS,
          burst: null,
          seed: SEED,
          maxSeconds: SEARCH_SECONDS,
          scrape: { url: `${sc.url}/metrics`, names: CACHE_METRICS },
        });
        runs.push({ setup, result, best: bestStep(result) });
      } finally {
        await target.close();
      }
    }
  } finally {
    for (const sc of scorecars) await sc.stop();
    await emu.stop();
  }

  const [off, mem] = runs as [Run, Run];
  const gain = off.best && mem.best ? mem.best.itemsPerSecond / off.best.itemsPerSecond : null;
  const rows = runs.map((r) => {
    const b = r.best;
    const pages = b?.pages;
    const hr = b && r.setup === 'memory' ? clientHitRatio(b) : null;
    return [
      `score cache ${r.setup}`,
      fmt(b?.offeredRps, 1),
      fmt(b?.itemsPerSecond),
      r.setup === 'off' ? '1.00x' : gain === null ? '—' : `${gain.toFixed(2)}x`,
      r.setup === 'memory' ? pct(hr) : '—',
      r.setup === 'memory' && b ? pct(serverHitRatio(r.result, b)) : '—',
      r.setup === 'memory' && pages ? `${pct(share(pages.revisit.hits, pages.revisit.items))} / ${pct(share(pages.first.hits, pages.first.items))}` : '—',
      b ? fmt(b.itemsPerSecond * (1 - (hr ?? 0))) : '—',
      b ? `${fmt(b.latency.p50)} / ${fmt(b.latency.p95)}` : '—',
      b ? `${b.errors + b.timeouts}` : '—',
      `${r.result.steps.length} (${r.result.stopReason})`,
    ];
  });
  const table = mdTable(
    [
      'scorecar',
      'max rps',
      'max items/s (p95 <= 500 ms)',
      'vs cache off',
      'hit ratio (x-scorecar-cache-hits)',
      'hit ratio (scorecar_score_cache_*)',
      'hit ratio on revisits / first pages',
      'items/s the GPU scored',
      'p50 / p95 ms',
      'errors+timeouts',
      'steps',
    ],
    rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );

  // The same offered rate in both searches (they share start and growth): latency side by side.
  const passedRates = (r: Run): Map<number, SearchStep> => new Map(r.result.steps.filter((s) => s.pass).map((s) => [s.offeredRps, s]));
  const offRates = passedRates(off);
  const memRates = passedRates(mem);
  const common = [...offRates.keys()].filter((x) => memRates.has(x)).sort((a, b) => a - b);
  const sameRate: string[] = [];
  const d = (x: number, y: number): string => `${y >= x ? '+' : ''}${(((y - x) / x) * 100).toFixed(0)}%`;
  for (const rate of new Set([common[0], common[common.length - 1]])) {
    if (rate === undefined) continue;
    const a = offRates.get(rate) as SearchStep;
    const b = memRates.get(rate) as SearchStep;
    sameRate.push(
      `- ${rate.toFixed(1)} rps (${rate === common[0] ? 'the lowest' : 'the highest'} rate both passed; cache off at ${((a.itemsPerSecond / (off.best?.itemsPerSecond ?? a.itemsPerSecond)) * 100).toFixed(0)}% of its max): ` +
        `p50 ${fmt(a.latency.p50)} -> ${fmt(b.latency.p50)} ms (${d(a.latency.p50, b.latency.p50)}), mean ${fmt(a.latency.mean)} -> ${fmt(b.latency.mean)} ms (${d(a.latency.mean, b.latency.mean)}), ` +
        `p95 ${fmt(a.latency.p95)} -> ${fmt(b.latency.p95)} ms (${d(a.latency.p95, b.latency.p95)}), p99 ${fmt(a.latency.p99)} -> ${fmt(b.latency.p99)} ms (${d(a.latency.p99, b.latency.p99)}); hit ratio ${pct(clientHitRatio(b))}.`,
    );
  }
  if (sameRate.length > 0) {
    sameRate.unshift('Latency at the same offered rate, cache off -> memory (paper, online traffic: p50 -9.9%, mean -7.3%, p90 -8.3%, p99 -4.4%):', '');
  }
  const memSteps = mem.result.steps.map((s) => `${s.offeredRps.toFixed(0)} rps: ${pct(clientHitRatio(s), 0)}`).join(', ');
  const summary = [
    '',
    '# bench:cache: the score cache under page navigation (SIMULATED)',
    '',
    `> **${SIMULATED_NOTICE}**`,
    '',
    `Emulator profile ${PROFILE} (single-item /v1/score), summarized postings (${corpus.items.length} postings, ${corpus.queries.length} queries, mean prompt ` +
      `${corpus.stats.meanPromptTokens.toFixed(0)} tokens), 10-item requests sent to scorecar as token ids, Poisson arrivals. Page navigation: after each page ` +
      `a searcher asks for the next one with probability ${navigation.revisitProbability} (at most ${navigation.maxPages} pages, ${(navigation.churn * 100).toFixed(0)}% of ` +
      `candidates replaced), after an exponential delay of mean ${REVISIT_SECONDS} s (scaled down from the workload's 90 s so that revisits happen within ` +
      `the run; the cache's 900 s TTL never expires in it): ${(revisitShare * 100).toFixed(0)}% of requests are revisits. SLO p95 <= ${SLO_MS} ms, errors+timeouts <= 1%. ` +
      `One SLO search per setup (6 s steps, bisection to 8%) after ${WARM_SECONDS} s of warm-up traffic, both in one run on one emulator.`,
    '',
    ...table,
    '',
    `Gain: ${gain === null ? '—' : `${gain.toFixed(2)}x items/s`} (${off.best && mem.best ? `+${fmt(mem.best.itemsPerSecond - off.best.itemsPerSecond)} items/s` : '—'}); ` +
      `the paper saw more than 50% of online scoring requests served from its cache. Hit ratio per step of the cached search: ${memSteps}.`,
    ...(sameRate.length > 0 ? ['', ...sameRate] : []),
    '',
  ];
  const mechanism = [
    '## Mechanism',
    '',
    '- A hit is answered from scorecar\'s memory (keyed on model, template, labels, the query as sent and the item as sent): no tokenizing, ' +
      'no shaper admission, no GPU. Only misses reach the emulator, so at the SLO the modelled GPU scores about as many items per second ' +
      'as without the cache (the "items/s the GPU scored" column) and the total grows by about 1 / (1 - hit ratio).',
    `- Hits come from revisits: a next page repeats the query and 90% of the candidates, and ${(revisitShare * 100).toFixed(0)}% of requests are next pages, ` +
      `so navigation alone bounds the hit ratio near ${(revisitShare * (1 - navigation.churn) * 100).toFixed(0)}%. First pages hit when another search ` +
      'for the same words scored the same postings; in a corpus this small that share grows with the traffic already seen.',
    '- Latency at a given rate falls too (fewer items wait for the GPU, and all-hit requests skip it); the gain in capacity is the ' +
      'larger effect because the GPU queue, not the per-request path, sets p95 near saturation.',
    '',
  ];
  const caveats = [
    '## Caveats',
    '',
    '- SIMULATED: a cost model of one H100, not a GPU. The hit ratio is a property of the workload model (revisit probability, churn, query ' +
      'repetition in the corpus), not of a real search log; the capacity gain follows from it.',
    '- One search per setup, off first, on a 2-core VM shared by the load generator, scorecar and the emulator; rates are resolved to ~8%. ' +
      'At high hit ratios the VM\'s CPU, not the modelled GPU, can become the limit (check dispatch lag in the JSON).',
    '- The hit ratio rises during the cached search (see per step) as the cache accumulates first-page repeats; the figure at the best step is quoted.',
    '',
  ];
  const h = header('cache', startedAt, t0);
  const md = [...summary, ...mechanism, ...caveats, `Run: ${h.createdAt}, ${h.durationSeconds.toFixed(0)} s; ${machineLine(h.machine)}.`, ''].join('\n');
  const json = {
    ...h,
    config: {
      seed: SEED,
      corpus: { mode: 'summarized', jobs: corpus.items.length, queries: corpus.queries.length, stats: corpus.stats },
      itemsPerRequest: 10,
      encoding: 'ids',
      navigation,
      revisitShare,
      sloMs: SLO_MS,
      timeoutMs: TIMEOUT_MS,
      warmSeconds: WARM_SECONDS,
      modelledGpu: cap,
    },
    runs: runs.map((r) => ({
      setup: r.setup,
      bestRps: r.best?.offeredRps ?? null,
      bestItemsPerSecond: r.best?.itemsPerSecond ?? null,
      hitRatioClient: r.best ? clientHitRatio(r.best) : null,
      hitRatioScorecar: r.best ? serverHitRatio(r.result, r.best) : null,
      stopReason: r.result.stopReason,
      steps: r.result.steps.map((s) => ({ ...s, scorecarCacheCounters: r.result.scraped[s.index] ?? null })),
    })),
  };
  const paths = await writeOutputs({ 'cache.json': toJson(json), 'cache.md': md });
  process.stdout.write(`${summary.join('\n')}\n(${h.durationSeconds.toFixed(0)} s; ${paths.join(', ')})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:cache: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
