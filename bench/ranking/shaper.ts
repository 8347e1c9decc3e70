import { type Child, startEmulator, startScorecar } from '../calibrate/processes.js';
import type { BurstConfig } from '../loadgen/arrivals.js';
import { type PriorityMix, PriorityMixSource } from '../loadgen/priority-mix.js';
import type { SearchResult, SearchStep } from '../loadgen/slo-search.js';
import { HttpScoreTarget } from '../loadgen/targets/http-score.js';
import { SIMULATED_NOTICE } from '../report/markdown.js';
import { buildCorpus } from '../workload/corpus.js';
import { CorpusRequestSource } from '../workload/requests.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import {
  PROFILE,
  bestStep,
  fmt,
  gpuCapacity,
  header,
  log,
  machineLine,
  mdTable,
  scrapeByLabel,
  scrapeSums,
  search,
  toJson,
  warmUp,
  writeOutputs,
  RANKING_SEARCH,
} from './common.js';

/**
 * `npm run bench:shaper` (issue 4): scorecar's traffic shaper under bursty arrivals, off and on,
 * in one run against one emulator (pruned-375m, summarized postings; SIMULATED GPU).
 *
 * The paper's mechanism is deferral: latency-insensitive work waits out the burst and runs in
 * the idle gap after it. So the traffic is a mix: half the requests are nearline
 * (x-scorecar-priority: nearline, a 10 s bound), half online (the SLO: p95 <= 500 ms). Arrivals
 * are on/off Poisson: 0.5 s bursts at 3x the mean rate, 1.5 s gaps at 1/3 of it. For each
 * scorecar setup an SLO search finds the highest mean rate at which online p95 <= 500 ms and
 * errors + timeouts (both classes; a nearline request past 10 s is a timeout) stay <= 1%:
 *
 *   off       in-flight budget 1e9 tokens: the shaper never queues, the emulator's FIFO does
 *   static    budget 4 x 8,192 tokens (see BUDGET below), online admitted before nearline
 *   adaptive  AIMD budget from 4 x 8,192, following backend latency (--shaper-adaptive)
 *
 * and, as a control, off and static with every request online (no work to defer).
 */
const SEED = 1;
const NEARLINE_SHARE = 0.5;
const SLO_MS = 500;
const ONLINE_TIMEOUT_MS = 2000;
const NEARLINE_BOUND_MS = 10_000;
const BURST: BurstConfig = { ratio: 3, onSeconds: 0.5, offSeconds: 1.5 };
const SEARCH_SECONDS = 56;
const MAX_QUEUE = 4096;

interface Setup {
  key: string;
  label: string;
  args: string[];
}

interface Run {
  setup: string;
  nearlineShare: number;
  result: SearchResult;
  best: SearchStep | null;
  refusedDuringSearch: Record<string, number>;
  budgetTokensAtEnd: number | null;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const corpus = buildCorpus({ seed: SEED, mode: 'summarized', jobs: 1000, queries: 500 }, qwen3Tokenizer());
  const prompt = corpus.stats.meanPromptTokens;
  const cap = gpuCapacity(PROFILE, prompt);
  // The budget: what the modelled GPU runs per step (min(max-prefill 16384, chunk 8192) = 8192
  // tokens) times four. The emulator then holds ~3 steps of queued work while a finished step's
  // tokens are replaced (a loopback round trip, well under one ~12 ms step), so the GPU never
  // idles on admission; and an online request admitted ahead of queued nearline work waits
  // behind at most ~4 steps (~50 ms) of it at the backend.
  const budget = 4 * cap.stepTokens;
  log(
    `corpus: ${corpus.items.length} summarized postings, mean prompt ${prompt.toFixed(0)} tokens; modelled GPU (SIMULATED): ` +
      `${cap.stepTokens}-token steps of ${cap.stepMs.toFixed(1)} ms, ${cap.itemsPerSecond.toFixed(0)} items/s when never idle; shaper budget ${budget} tokens`,
  );

  const setups: Setup[] = [
    // The queue-time bound is lifted here: this bench compares deadline-driven shaping setups.
    { key: 'off', label: 'shaping off (budget 1e9 tokens)', args: ['--shaper-budget-tokens', '1000000000', '--no-shaper-adaptive', '--max-queue-ms', '1e9'] },
    { key: 'static', label: `shaping on, static budget ${budget} tokens`, args: ['--shaper-budget-tokens', String(budget), '--no-shaper-adaptive', '--max-queue-ms', '1e9'] },
    { key: 'adaptive', label: `shaping on, adaptive (AIMD from ${budget})`, args: ['--shaper-budget-tokens', String(budget), '--shaper-adaptive', '--max-queue-ms', '1e9'] },
  ];
  const plan: Array<{ setup: string; share: number }> = [
    { setup: 'off', share: NEARLINE_SHARE },
    { setup: 'static', share: NEARLINE_SHARE },
    { setup: 'adaptive', share: NEARLINE_SHARE },
    { setup: 'off', share: 0 },
    { setup: 'static', share: 0 },
  ];

  const emu = await startEmulator(['--profile', PROFILE]);
  const scorecars = new Map<string, Child>();
  const runs: Run[] = [];
  try {
    for (const s of setups) {
      scorecars.set(
        s.key,
        await startScorecar(emu.url, ['--score-cache', 'off', '--shaper-max-queue', String(MAX_QUEUE), ...s.args]),
      );
    }
    const startRps = +((0.6 * cap.itemsPerSecond) / 10).toFixed(1);
    for (const p of plan) {
      const sc = scorecars.get(p.setup) as Child;
      const label = `${p.setup}, ${p.share * 100}% nearline`;
      log(`\n${label}`);
      const mix: PriorityMix = {
        nearlineShare: p.share,
        nearlineTimeoutMs: NEARLINE_BOUND_MS,
        onlineDeadlineMs: ONLINE_TIMEOUT_MS,
        nearlineDeadlineMs: NEARLINE_BOUND_MS,
      };
      // Every search gets the same request stream and the same arrivals (same seed).
      const source = new PriorityMixSource(
        new CorpusRequestSource(corpus, { seed: SEED, itemsPerRequest: 10, familyAffinity: 0.7, navigation: null }),
        mix,
        SEED,
      );
      const target = new HttpScoreTarget({ name: label, url: sc.url, encoding: 'ids', labelTokenIds: corpus.template.labelTokenIds, connections: 256, apiKey: null });
      try {
        await warmUp(target, source, startRps * 0.6, 4, SEED);
        const metrics = `${sc.url}/metrics`;
        const before = await scrapeByLabel(metrics, 'scorecar_shaper_refused_total', 'reason');
        const result = await search(label, target, source, {
          ...RANKING_SEARCH,
          sloMs: SLO_MS,
          startRps,
          maxRps: 2000,
          maxSteps: 12,
          warmupMs: 1000,
          stepMs: 6000,
          timeoutMs: ONLINE_TIMEOUT_MS,
          cooldownMs: 200,
          settleMaxMs: 3 * ONLINE_TIMEOUT_MS,
          burst: BURST,
          seed: SEED,
          maxSeconds: SEARCH_SECONDS,
        });
        const after = await scrapeByLabel(metrics, 'scorecar_shaper_refused_total', 'reason');
        const refused: Record<string, number> = {};
        for (const k of Object.keys(after)) refused[k] = (after[k] ?? 0) - (before[k] ?? 0);
        const budgetNow = (await scrapeSums(metrics, ['scorecar_shaper_budget_tokens'])).scorecar_shaper_budget_tokens ?? null;
        runs.push({ setup: p.setup, nearlineShare: p.share, result, best: bestStep(result), refusedDuringSearch: refused, budgetTokensAtEnd: budgetNow });
      } finally {
        await target.close();
      }
    }
  } finally {
    for (const sc of scorecars.values()) await sc.stop();
    await emu.stop();
  }

  // Report.
  const find = (setup: string, share: number): Run | undefined => runs.find((r) => r.setup === setup && r.nearlineShare === share);
  const items = (r: Run | undefined): number | null => r?.best?.itemsPerSecond ?? null;
  const ratio = (a: number | null, b: number | null): string => (a !== null && b !== null && b > 0 ? `${(a / b).toFixed(2)}x` : '—');
  const offMix = items(find('off', NEARLINE_SHARE));
  const offAll = items(find('off', 0));
  const rows = runs.map((r) => {
    const b = r.best;
    const on = b?.byClass?.online;
    const nl = b?.byClass?.nearline;
    const base = r.nearlineShare === 0 ? offAll : offMix;
    const refusals = Object.entries(r.refusedDuringSearch).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    return [
      setups.find((s) => s.key === r.setup)?.label ?? r.setup,
      `${(r.nearlineShare * 100).toFixed(0)}%`,
      fmt(b?.offeredRps, 1),
      fmt(b?.itemsPerSecond),
      b ? `${((b.itemsPerSecond / cap.itemsPerSecond) * 100).toFixed(0)}%` : '—',
      r.setup === 'off' ? '1.00x' : ratio(items(r), base),
      fmt(on?.latency.p95),
      nl && nl.scheduled > 0 ? `${fmt(nl.latency.p50)} / ${fmt(nl.latency.p95)}` : '—',
      b ? `${b.errors + b.timeouts} of ${b.scheduled}` : '—',
      refusals,
      fmt(r.budgetTokensAtEnd),
      `${r.result.steps.length} (${r.result.stopReason})`,
    ];
  });
  const table = mdTable(
    [
      'scorecar setup',
      'nearline share',
      'max mean rps',
      'max total items/s (online p95 <= 500 ms)',
      'of GPU capacity',
      'vs shaping off',
      'online p95 ms',
      'nearline p50 / p95 ms',
      'errors+timeouts',
      'shaper refusals (whole search)',
      'budget tokens at end',
      'steps',
    ],
    rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'l'],
  );
  const staticMix = items(find('static', NEARLINE_SHARE));
  const adaptive = find('adaptive', NEARLINE_SHARE);
  const summary = [
    '',
    '# bench:shaper: traffic shaping under bursty arrivals (SIMULATED)',
    '',
    `> **${SIMULATED_NOTICE}**`,
    '',
    `Emulator profile ${PROFILE} (single-item /v1/score, as SGLang 0.4.6), summarized postings (mean prompt ${prompt.toFixed(0)} tokens), ` +
      `10-item requests sent to scorecar as token ids, score cache off. Arrivals: on/off Poisson, ${BURST.onSeconds} s bursts at ${BURST.ratio}x the mean rate, ` +
      `${BURST.offSeconds} s gaps at ${(((BURST.onSeconds + BURST.offSeconds) - BURST.ratio * BURST.onSeconds) / BURST.offSeconds).toFixed(2)}x. ` +
      `SLO: online p95 <= ${SLO_MS} ms from the scheduled send; errors + timeouts <= 1% over both classes; nearline bound: a nearline request ` +
      `not answered within ${NEARLINE_BOUND_MS / 1000} s is a timeout. Deadlines sent: online ${ONLINE_TIMEOUT_MS} ms, nearline ${NEARLINE_BOUND_MS} ms. ` +
      `Figures are those of the best passing step; one SLO search per row (6 s steps, bisection to 8%), all in one run against one emulator.`,
    '',
    ...table,
    '',
    `Modelled GPU: ${cap.stepTokens}-token prefill steps of ${cap.stepMs.toFixed(1)} ms, ${cap.itemsPerSecond.toFixed(0)} items/s when never idle ("GPU capacity"). ` +
      `Gain with ${NEARLINE_SHARE * 100}% nearline, static budget: ${ratio(staticMix, offMix)} (paper: +25%, 1600 -> 2000 items/s on an H100). ` +
      `Shaping off was measured twice, since with nothing queued in scorecar the priority header changes nothing: ${fmt(offMix)} and ${fmt(offAll)} items/s ` +
      `(the spread of one bisection).` +
      (staticMix !== null && staticMix > 0.97 * cap.itemsPerSecond
        ? ` The static budget's best step is at the GPU's capacity: a 6 s step can pass a few percent above it because the nearline ` +
          `backlog it leaves drains within the 10 s nearline bound after the window; sustained, no setup can exceed ${cap.itemsPerSecond.toFixed(0)} items/s, ` +
          `so the sustainable gain is at most ${ratio(cap.itemsPerSecond, offMix)} (${ratio(cap.itemsPerSecond, offAll)} against the second off run).`
        : ''),
    '',
  ].join('\n');

  const mechanism = [
    '## Mechanism',
    '',
    `- With shaping off every request goes straight to the emulator, whose scheduler is one FIFO: a burst at ${BURST.ratio}x the mean rate ` +
      'queues there, online and nearline alike, and online p95 is the queueing delay at the end of a burst. That caps the mean rate well below ' +
      `what the GPU sustains (here at ${offMix === null ? '—' : `${((offMix / cap.itemsPerSecond) * 100).toFixed(0)}%`} of its capacity).`,
    `- With shaping on, scorecar holds at most ${budget} tokens (4 prefill steps) in flight and queues the rest itself, online strictly before ` +
      'nearline. During a burst online work passes the queued nearline work, waiting behind at most ~4 steps already at the GPU; nearline ' +
      'work waits out the burst and runs in the gap after it (its latency rises to seconds, within its bound). The GPU stays busy either way ' +
      '(the emulator always has queued steps), so the gain is in what the SLO counts, not in GPU efficiency.',
    '- The cost model has no efficiency gain from smoother traffic: a step costs the same whether its queue is long or short (no KV-cache ' +
      'thrash, no batch-size sweet spot beyond full 8,192-token steps). So with every request online (the control rows: ' +
      `${ratio(items(find('static', 0)), offAll)}) shaping only moves the same FIFO from the emulator into scorecar, and there is nothing to gain. ` +
      'The paper\'s "higher kernel efficiency" part of the mechanism is not modelled; the deferral part is, and it is all the gain here.',
    ...(adaptive?.budgetTokensAtEnd != null
      ? [
          `- The adaptive budget (AIMD on backend latency, aiming at 2x the lowest latency seen) ended at ${fmt(adaptive.budgetTokensAtEnd)} tokens ` +
            `(${(adaptive.budgetTokensAtEnd / cap.stepTokens).toFixed(1)} prefill steps) and reached ${ratio(items(adaptive), offMix)} of shaping off ` +
            `(static: ${ratio(staticMix, offMix)}).` +
            (adaptive.budgetTokensAtEnd < 2 * cap.stepTokens
              ? ' Near one step of tokens in flight the emulator runs dry between steps while released tokens are replaced (an HTTP round trip ' +
                'through scorecar), so less of the GPU is used than with the static four steps.'
              : ''),
        ]
      : []),
    '',
  ];
  const caveats = [
    '## Caveats',
    '',
    '- SIMULATED: a cost model of one H100 (fitted to the paper\'s Table 7), not a GPU. The gain depends on the nearline share and the burst shape: ' +
      'with less deferrable work, or smoother arrivals, it shrinks (to none with all-online traffic).',
    '- One search per row, on a 2-core VM shared with the load generator, scorecar and the emulator (and possibly other users); rates are ' +
      'resolved to ~8% by the bisection, and step-to-step noise is of the same order.',
    `- The nearline bound is enforced as a client timeout (${NEARLINE_BOUND_MS / 1000} s) that counts against the 1% error budget: with half ` +
      'the traffic nearline that is about a p98 bound, stricter than "p95 <= 10 s". Nearline p95 is reported.',
    `- --shaper-max-queue ${MAX_QUEUE} (default 1024), so that the queue's length never decides a refusal and the bound on nearline waiting ` +
      'is its deadline. By Little\'s law the nearline queue held a few hundred requests at the rates measured (~170 nearline req/s x ~1.5 s), ' +
      'so the default would most likely have given the same result.',
    '',
  ];
  const header0 = header('shaper', startedAt, t0);
  const md = [...summary.split('\n'), ...mechanism, ...caveats, `Run: ${header0.createdAt}, ${header0.durationSeconds.toFixed(0)} s; ${machineLine(header0.machine)}.`, ''].join('\n');
  const json = {
    ...header0,
    config: {
      seed: SEED,
      corpus: { mode: 'summarized', jobs: corpus.items.length, queries: corpus.queries.length, stats: corpus.stats },
      itemsPerRequest: 10,
      encoding: 'ids',
      burst: BURST,
      nearlineShare: NEARLINE_SHARE,
      sloMs: SLO_MS,
      onlineTimeoutMs: ONLINE_TIMEOUT_MS,
      nearlineBoundMs: NEARLINE_BOUND_MS,
      shaperBudgetTokens: budget,
      shaperMaxQueue: MAX_QUEUE,
      modelledGpu: cap,
      setups,
    },
    runs: runs.map((r) => ({
      setup: r.setup,
      nearlineShare: r.nearlineShare,
      bestRps: r.best?.offeredRps ?? null,
      bestItemsPerSecond: r.best?.itemsPerSecond ?? null,
      refusedDuringSearch: r.refusedDuringSearch,
      budgetTokensAtEnd: r.budgetTokensAtEnd,
      stopReason: r.result.stopReason,
      steps: r.result.steps,
    })),
  };
  const paths = await writeOutputs({ 'shaper.json': toJson(json), 'shaper.md': md });
  process.stdout.write(`${summary}\n(${header0.durationSeconds.toFixed(0)} s; ${paths.join(', ')})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:shaper: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
