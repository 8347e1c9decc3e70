import { type Child, startEmulator, startScorecar } from '../calibrate/processes.js';
import { type RampPhaseResult, type RampResult, type RampWindow, runRamp, trapezoidRamp } from '../loadgen/ramp.js';
import { RankTarget } from '../loadgen/targets/rank.js';
import { SIMULATED_NOTICE } from '../report/markdown.js';
import { type Corpus, buildCorpus } from '../workload/corpus.js';
import { CorpusRequestSource } from '../workload/requests.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import { type DepthSample, renderDepthSvg } from './depth-svg.js';
import { PROFILE, watchChild, fmt, gpuCapacity, header, log, machineLine, mdTable, scrapeSums, toJson, writeOutputs } from './common.js';

/**
 * `npm run bench:depth` (issue 4): scorecar's ranking-depth controller under a traffic ramp
 * (SIMULATED GPU: the emulator, pruned-375m, summarized postings).
 *
 * /rank requests carry 1,000 candidates each (structured job fields, in retrieval order) and an
 * open-loop Poisson rate that climbs from off-peak to a peak and back in 5 s fixed-rate windows.
 * Two runs on identical arrivals and candidates, each against a fresh emulator and scorecar:
 *
 *   controller   no `depth` in the requests: the PID controller picks D, holding its signal
 *                (scorecar's own /rank p95 over 10 s) at --depth-target-ms
 *   fixed 250    `depth: 250` in every request (the paper's pre-controller depth)
 *
 * Per window: client-side p95 (from the scheduled send), the depth the answers used, scored
 * items/s; every second the controller's gauges (scorecar_rank_depth, _signal_ms) from /metrics.
 * Writes depth.json, depth.md and depth.svg under .bench-out/.
 */
const SEED = 1;
const CANDIDATES = 1000;
const FIXED_DEPTH = 250;
/**
 * The controller's target, on scorecar's p95 over a 10 s window. Below the 500 ms SLO on
 * purpose: the client's p95 adds its own queueing and HTTP time to the server's, and a 10 s
 * window lags a rising load by several seconds, during which p95 overshoots; 100 ms of margin
 * keeps those transients inside the SLO. (The controller weighs overload twice as heavily as
 * underload, so it settles a little under its target rather than on it.)
 */
const TARGET_MS = 400;
const SLO_MS = 500;
const TIMEOUT_MS = 4000;
const WINDOW_S = 5;
/** The controller's sliding window (10 s) plus a tick: after this idle time it holds no sample. */
const WINDOW_EMPTY_MS = 11_000;

interface RunOut {
  name: string;
  depth: number | null;
  ramp: RampResult;
  samples: DepthSample[];
}

/** One configuration's processes: a fresh emulator (its own modelled GPU) and scorecar. */
interface Stack {
  name: string;
  depth: number | null;
  emu: Child;
  sc: Child;
  target: RankTarget;
}

async function startStack(name: string, depth: number | null, corpus: Corpus): Promise<Stack> {
  const emu = await startEmulator(['--profile', PROFILE]);
  watchChild(`${name}: emulator`, emu);
  let sc: Child;
  try {
    sc = await startScorecar(emu.url, [
      '--score-cache', 'off',
      '--depth-target-ms', String(TARGET_MS), '--depth-signal', 'latency',
      '--depth-min', '50', '--depth-max', '1000', '--depth-start', '250',
    ]);
    watchChild(`${name}: scorecar`, sc);
  } catch (e) {
    await emu.stop();
    throw e;
  }
  // Every posting once through /rank at depth 1000 (3 requests, fewer than the controller's
  // 20-sample minimum, so it holds): JIT and scorecar's token caches are warm when the ramp
  // starts, in both runs alike. Then the controller's 10 s window is left to empty, so that these
  // slow cold requests are not in the first p95 it acts on.
  const warm = new RankTarget({ name: `${name} warm-up`, url: sc.url, corpus, depth: CANDIDATES, connections: 1, apiKey: null });
  try {
    for (let i = 0; i < corpus.items.length; i += CANDIDATES) {
      const items = corpus.items.slice(i, i + CANDIDATES);
      const r = await warm.send({ query: corpus.queries[0]!, items, page: 1, session: -1 }, AbortSignal.timeout(30_000));
      if (r.status !== 200) throw new Error(`${name}: warm-up /rank answered ${r.status}`);
    }
  } catch (e) {
    await sc.stop();
    await emu.stop();
    throw e;
  } finally {
    await warm.close();
  }
  await new Promise((r) => setTimeout(r, WINDOW_EMPTY_MS));
  return { name, depth, emu, sc, target: new RankTarget({ name, url: sc.url, corpus, depth, connections: 64, apiKey: null }) };
}

async function stopStack(s: Stack): Promise<void> {
  await s.target.close();
  await s.sc.stop();
  await s.emu.stop();
}

/** Runs the ramp against one stack while sampling its controller's gauges every second. */
async function rampOnce(s: Stack, corpus: Corpus, windows: RampWindow[]): Promise<RunOut> {
  const metrics = `${s.sc.url}/metrics`;
  const source = new CorpusRequestSource(corpus, { seed: SEED, itemsPerRequest: CANDIDATES, familyAffinity: 0.7, navigation: null });
  const samples: DepthSample[] = [];
  let t0 = Number.NaN;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = performance.now();
      try {
        const m = await scrapeSums(metrics, ['scorecar_rank_depth', 'scorecar_rank_depth_signal_ms']);
        if (!Number.isNaN(t0)) {
          const sig = m.scorecar_rank_depth_signal_ms ?? null;
          samples.push({ tS: (at - t0) / 1000, depth: m.scorecar_rank_depth ?? null, signalMs: sig !== null && Number.isFinite(sig) ? sig : null });
        }
      } catch {
        // A missed sample leaves a gap; the run goes on.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - at))));
    }
  })();
  const ramp = await runRamp(s.target, source, { windows, timeoutMs: TIMEOUT_MS, seed: SEED }, { onStart: (t) => (t0 = t) });
  sampling = false;
  await sampler;
  for (const w of ramp.windows) {
    log(
      `  ${s.name}: t=${w.startS.toFixed(0)}s ${w.offeredRps.toFixed(1)} rps, depth ${w.depth ? w.depth.mean.toFixed(0) : '—'}, p95 ${w.latency.p95.toFixed(0)} ms, ` +
        `${w.itemsPerSecond.toFixed(0)} scored items/s, ${w.errors} errors, ${w.timeouts} timeouts`,
    );
  }
  return { name: s.name, depth: s.depth, ramp, samples };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const corpus = buildCorpus({ seed: SEED, mode: 'summarized', jobs: 3000, queries: 500 }, qwen3Tokenizer());
  const prompt = corpus.stats.meanPromptTokens;
  const cap = gpuCapacity(PROFILE, prompt);
  // Peak: 1.25x the rate at which depth 250 fills the modelled GPU. Off-peak a fifth of it: enough
  // requests for the controller to act on (it holds below 20 samples in its 10 s window).
  const peak = +((1.25 * cap.itemsPerSecond) / FIXED_DEPTH).toFixed(1);
  const low = +(peak / 5).toFixed(2);
  const windows = trapezoidRamp({ lowRps: low, peakRps: peak, holdLowS: 30, rampS: 30, holdPeakS: 20, holdLowEndS: 15, windowS: WINDOW_S });
  const totalS = windows.reduce((a, w) => a + w.durationMs, 0) / 1000;
  log(
    `corpus: ${corpus.items.length} summarized postings, mean prompt ${prompt.toFixed(0)} tokens; modelled GPU (SIMULATED) ${cap.itemsPerSecond.toFixed(0)} items/s; ` +
      `ramp ${low} -> ${peak} -> ${low} req/s over ${totalS} s, ${CANDIDATES} candidates per request`,
  );

  // One configuration after the other, each on a fresh emulator (its own modelled GPU) and
  // scorecar: run side by side, the two would compete for this machine's two cores, and
  // scorecar's parsing of 1,000-candidate bodies would blur the latency the GPU model sets.
  const runs: RunOut[] = [];
  for (const [name, depth] of [['controller', null], [`fixed depth ${FIXED_DEPTH}`, FIXED_DEPTH]] as const) {
    log(`\n${name}`);
    const st = await startStack(name, depth, corpus);
    try {
      runs.push(await rampOnce(st, corpus, windows));
    } finally {
      await stopStack(st);
    }
  }
  const [ctl, fixed] = runs as [RunOut, RunOut];

  // Per phase, both runs side by side.
  const phaseRow = (c: RampPhaseResult, f: RampPhaseResult): string[] => [
    c.phase,
    c.minRps === c.maxRps ? fmt(c.minRps, 1) : `${fmt(c.minRps, 1)}-${fmt(c.maxRps, 1)}`,
    c.depth ? `${fmt(c.depth.mean)} (${fmt(c.depth.min)}-${fmt(c.depth.max)})` : '—',
    fmt(c.latency.p95),
    fmt(c.itemsPerSecond),
    `${c.errors + c.timeouts}/${c.scheduled}`,
    f.depth ? fmt(f.depth.mean) : '—',
    fmt(f.latency.p95),
    fmt(f.itemsPerSecond),
    `${f.errors + f.timeouts}/${f.scheduled}`,
  ];
  const table = mdTable(
    [
      'phase',
      'offered req/s',
      'controller: depth mean (min-max)',
      'controller: p95 ms',
      'controller: scored items/s',
      'controller: lost/sent',
      `fixed ${FIXED_DEPTH}: depth`,
      `fixed ${FIXED_DEPTH}: p95 ms`,
      `fixed ${FIXED_DEPTH}: scored items/s`,
      `fixed ${FIXED_DEPTH}: lost/sent`,
    ],
    ctl.ramp.phases.map((p, i) => phaseRow(p, fixed.ramp.phases[i] as RampPhaseResult)),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const within = (r: RunOut, ms: number): string => {
    const ws = r.ramp.windows.filter((w) => w.scheduled > 0);
    return `${ws.filter((w) => w.latency.p95 <= ms && w.timeouts + w.errors === 0).length}/${ws.length}`;
  };
  const peakC = ctl.ramp.phases.find((p) => p.phase === 'peak');
  const offC = ctl.ramp.phases.find((p) => p.phase === 'off-peak (start)');
  const fixedDown = fixed.ramp.phases.find((p) => p.phase === 'ramp down');
  const maxCtl = Math.max(...ctl.ramp.windows.filter((w) => w.latency.count > 0).map((w) => w.latency.p95));
  const gauge = ctl.samples.flatMap((s) => (s.depth === null ? [] : [s.depth]));
  const summary = [
    '',
    '# bench:depth: the ranking-depth controller under a traffic ramp (SIMULATED)',
    '',
    `> **${SIMULATED_NOTICE}**`,
    '',
    `Emulator profile ${PROFILE}, summarized postings (mean prompt ${prompt.toFixed(0)} tokens; modelled GPU ${cap.itemsPerSecond.toFixed(0)} items/s when never idle). ` +
      `POST /rank with ${CANDIDATES} candidates per request ({id, fields}), Poisson arrivals in ${WINDOW_S} s fixed-rate windows: ` +
      `${low} req/s, up to ${peak} req/s (1.25x what depth ${FIXED_DEPTH} can sustain) and back, ${totalS} s. ` +
      `Controller: --depth-target-ms ${TARGET_MS} on scorecar's /rank p95 (10 s window), depth 50-1000, start 250. ` +
      `Latency is the client's, from the scheduled send; timeout ${TIMEOUT_MS} ms. One run each, one after the other, each on a fresh emulator and scorecar, identical arrivals and candidates.`,
    '',
    ...table,
    '',
    `Windows with p95 <= ${SLO_MS} ms and nothing lost: controller ${within(ctl, SLO_MS)}, fixed ${FIXED_DEPTH} ${within(fixed, SLO_MS)}. ` +
      `Controller depth over the run: ${gauge.length ? `${Math.min(...gauge)}-${Math.max(...gauge)}` : '—'}; ` +
      `mean depth at peak ${fmt(peakC?.depth?.mean)} vs ${fmt(offC?.depth?.mean)} off-peak ` +
      `(paper: 250 -> 131 at peak, up to 1000 off-peak)` +
      `${peakC?.depth ? `; at peak ${((1 - peakC.depth.mean / FIXED_DEPTH) * 100).toFixed(0)}% less GPU work per query than depth ${FIXED_DEPTH}` : ''}.`,
    '',
  ];
  const mechanism = [
    '## Mechanism',
    '',
    `- GPU time per /rank request is about D x ${(prompt / cap.stepTokens * cap.stepMs).toFixed(2)} ms (D prompts of ~${prompt.toFixed(0)} tokens in ${cap.stepTokens}-token steps of ${cap.stepMs.toFixed(1)} ms), ` +
      `so load on the modelled GPU is rate x D. A fixed D ignores the rate: at depth ${FIXED_DEPTH} the peak asks for ${fmt(peak * FIXED_DEPTH)} items/s ` +
      `of a ${cap.itemsPerSecond.toFixed(0)} items/s GPU, the queue grows for as long as the peak lasts, and p95 runs into the timeout; off-peak the same D ` +
      'leaves most of the GPU idle.',
    `- The controller closes the loop on latency: its PID acts on ln(depth) with error ln(target / p95), so when p95 is above ${TARGET_MS} ms it cuts D ` +
      '(twice as hard as it raises it) and when p95 is below it raises D, between 50 and 1000. ' +
      `Here D went from ${fmt(offC?.depth?.mean)} off-peak to ${fmt(peakC?.depth?.mean)} at peak (phase means), so at peak it offered the GPU ` +
      `${fmt(peak * (peakC?.depth?.mean ?? 0))} items/s (${(((peak * (peakC?.depth?.mean ?? 0)) / cap.itemsPerSecond) * 100).toFixed(0)}% of its capacity) where depth ${FIXED_DEPTH} offered ` +
      `${fmt(peak * FIXED_DEPTH)} (${(((peak * FIXED_DEPTH) / cap.itemsPerSecond) * 100).toFixed(0)}%). Off-peak D settles where a request's own GPU time ` +
      `(D x ${(prompt / cap.stepTokens * cap.stepMs).toFixed(2)} ms) plus queueing and scorecar's handling of a 1,000-candidate body reach the target: well short of the ` +
      '1000 ceiling at this off-peak rate (a fifth of the peak).',
    `- The loop is slow next to this ramp: a 10 s window, and an integral term that moves ln D by ~2-3% per second at a 1.5x overload, so D settles ` +
      `15-20 s after the load changes. During the climb and the ${fmt(windows.filter((w) => w.phase === 'peak').length * WINDOW_S)} s peak the client p95 runs above the ` +
      `target (worst window ${fmt(maxCtl)} ms, ${(maxCtl / TARGET_MS).toFixed(1)}x) before D catches up; production ramps take hours.`,
    ...(fixedDown !== undefined && fixedDown.scheduled > 0 && (fixedDown.errors + fixedDown.timeouts) / fixedDown.scheduled > 0.1
      ? [
          `- The fixed-depth run is still losing requests in the ramp down (${fixedDown.errors + fixedDown.timeouts} of ${fixedDown.scheduled}): the backlog built ` +
            `at the peak drains only once the rate is back below what depth ${FIXED_DEPTH} sustains (${fmt(cap.itemsPerSecond / FIXED_DEPTH, 1)} req/s), ` +
            'and requests queued behind it time out meanwhile.',
        ]
      : []),
    '',
  ];
  const caveats = [
    '## Caveats',
    '',
    '- SIMULATED: the emulator\'s cost model of one H100, not a GPU. One run per configuration on a shared 2-core VM; per-window p95 at off-peak ' +
      `rates rests on few requests (${fmt(low * WINDOW_S, 0)}-ish per window), so the per-phase rows (pooled) are the figures to quote.`,
    '- The controller\'s settling time (15-20 s) is comparable to the length of the peak, so where in its swing the peak ends, and with it the ' +
      'peak p95 and depth, varies from run to run; the fixed-depth run\'s collapse at the peak does not.',
    '- Ranking quality is not measured: the emulator\'s scores are a hash. "More depth off-peak" is capacity used, not a relevance gain.',
    '',
  ];
  const h = header('depth', startedAt, t0);
  const md = [...summary, ...mechanism, ...caveats, `Chart: depth.svg. Run: ${h.createdAt}, ${h.durationSeconds.toFixed(0)} s; ${machineLine(h.machine)}.`, ''].join('\n');
  const json = {
    ...h,
    config: {
      seed: SEED,
      corpus: { mode: 'summarized', jobs: corpus.items.length, queries: corpus.queries.length, stats: corpus.stats },
      candidatesPerRequest: CANDIDATES,
      fixedDepth: FIXED_DEPTH,
      controller: { targetMs: TARGET_MS, signal: 'latency', minDepth: 50, maxDepth: 1000, startDepth: 250 },
      sloMs: SLO_MS,
      timeoutMs: TIMEOUT_MS,
      windows,
      modelledGpu: cap,
    },
    runs: runs.map((r) => ({ name: r.name, depthInRequests: r.depth, phases: r.ramp.phases, windows: r.ramp.windows, controllerSamples: r.samples })),
  };
  const svg = renderDepthSvg(
    [
      { name: 'controller', windows: ctl.ramp.windows, samples: ctl.samples },
      { name: `fixed depth ${FIXED_DEPTH}`, windows: fixed.ramp.windows, samples: [] },
    ],
    {
      title: 'scorecar bench: ranking depth under a traffic ramp (SIMULATED)',
      subtitle: `${PROFILE}, /rank with ${CANDIDATES} candidates; controller target p95 ${TARGET_MS} ms vs fixed depth ${FIXED_DEPTH}`,
      targetMs: TARGET_MS,
      sloMs: SLO_MS,
      simulated: true,
    },
  );
  const paths = await writeOutputs({ 'depth.json': toJson(json), 'depth.md': md, 'depth.svg': svg });
  process.stdout.write(`${summary.join('\n')}\n(${h.durationSeconds.toFixed(0)} s; ${paths.join(', ')})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:depth: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
