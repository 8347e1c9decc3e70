import { startEmulator, startScorecar } from '../calibrate/processes.js';
import { RankTarget } from '../loadgen/targets/rank.js';
import { RerankTarget } from '../loadgen/targets/rerank.js';
import type { ScoreTarget } from '../loadgen/target.js';
import { buildCorpus } from '../workload/corpus.js';
import { CorpusRequestSource } from '../workload/requests.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import { PROFILE, type SearchRun, bestStep, fmt, gpuCapacity, header, log, machineLine, mdTable, search, toJson, warmUp, watchChild, writeOutputs, RANKING_SEARCH } from './common.js';

/**
 * `npm run bench:rerank`: /v2/rerank against /rank on the same workload, in one run, through
 * one scorecar on one emulator (pruned-375m, summarized postings; SIMULATED GPU). Both score
 * the same prompts (rerank with the qwen3-yes-no template and each posting rendered as /rank
 * renders its fields); the score cache is off, so neither gets hits from the other. The searches
 * alternate rank, rerank, rank, rerank and the ratio uses each route's median best rate.
 */
const SEED = 3;
const SLO_MS = 500;
const ROUNDS = 2;

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const corpus = buildCorpus({ seed: SEED, mode: 'summarized', jobs: 1000, queries: 500 }, qwen3Tokenizer());
  const cap = gpuCapacity(PROFILE, corpus.stats.meanPromptTokens);
  log(`corpus: ${corpus.items.length} postings, mean prompt ${corpus.stats.meanPromptTokens.toFixed(0)} tokens; modelled GPU (SIMULATED) ${cap.itemsPerSecond.toFixed(0)} items/s`);
  const emu = await startEmulator(['--profile', PROFILE]);
  watchChild('emulator', emu);
  const sc = await startScorecar(emu.url, ['--score-cache', 'off']);
  watchChild('scorecar', sc);
  const runs: Array<{ route: 'rank' | 'rerank'; round: number; result: SearchRun }> = [];
  try {
    const startRps = +((0.7 * cap.itemsPerSecond) / 10).toFixed(1);
    for (let round = 0; round < ROUNDS; round++) {
      for (const route of ['rank', 'rerank'] as const) {
        const target: ScoreTarget =
          route === 'rank'
            ? new RankTarget({ name: 'rank', url: sc.url, corpus, depth: 10, connections: 256, apiKey: null })
            : new RerankTarget({ name: 'rerank', url: sc.url, corpus, connections: 256, apiKey: null });
        const source = new CorpusRequestSource(corpus, { seed: SEED + round, itemsPerRequest: 10, familyAffinity: 0.7, navigation: null });
        try {
          await warmUp(target, source, startRps * 0.5, 5, SEED);
          const result = await search(`${route} #${round + 1}`, target, source, {
            ...RANKING_SEARCH,
            sloMs: SLO_MS,
            startRps,
            maxRps: 5000,
            maxSteps: 12,
            warmupMs: 1000,
            stepMs: 4000,
            timeoutMs: 2000,
            cooldownMs: 200,
            settleMaxMs: 6000,
            burst: null,
            seed: SEED + round,
            maxSeconds: 60,
          });
          runs.push({ route, round, result });
        } finally {
          await target.close();
        }
      }
    }
  } finally {
    await sc.stop();
    await emu.stop();
  }
  const best = (route: 'rank' | 'rerank'): number[] =>
    runs.filter((r) => r.route === route).map((r) => bestStep(r.result)?.itemsPerSecond ?? Number.NaN);
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
  const rank = best('rank');
  const rerank = best('rerank');
  const ratio = med(rerank) / med(rank);
  const rows = runs.map((r) => {
    const b = bestStep(r.result);
    return [`/${r.route === 'rank' ? 'rank' : 'v2/rerank'}`, String(r.round + 1), fmt(b?.offeredRps, 1), fmt(b?.itemsPerSecond), b ? `${fmt(b.latency.p50)} / ${fmt(b.latency.p95)}` : '—'];
  });
  const h = header('rerank', startedAt, t0);
  const md = [
    '# bench:rerank: /v2/rerank vs /rank on the same workload (SIMULATED)',
    '',
    h.notice,
    '',
    `Command: \`npm run bench:rerank\`. ${machineLine(h.machine)}. Emulator profile ${PROFILE}, summarized postings, 10 per request, score cache off, p95 <= ${SLO_MS} ms.`,
    '',
    ...mdTable(['route', 'round', 'max rps', 'max items/s', 'p50 / p95 ms'], rows, ['l', 'r', 'r', 'r', 'r']),
    '',
    `Lower of the two rounds' max items/s (with two rounds, the conservative pick): /rank ${fmt(med(rank))}, /v2/rerank ${fmt(med(rerank))}: rerank / rank = ${ratio.toFixed(2)}x.`,
    '',
  ].join('\n');
  const paths = await writeOutputs({ 'rerank.json': toJson({ ...h, runs, ratio }), 'rerank.md': md });
  process.stdout.write(`${md}\nwrote ${paths.join(', ')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:rerank: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
