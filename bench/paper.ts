import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, startScorecar, type Child } from './calibrate/processes.js';
import { TABLE7, type Table7Case } from './calibrate/table7.js';
import { PROFILE_SHAPES, profileCost } from '../src/emulator/profiles.js';
import { causalPairs, frontEndCostUs } from '../src/emulator/cost-model.js';
import { parseBenchArgs } from './cli.js';
import { renderJson } from './report/json.js';
import { renderSvg } from './report/svg.js';
import type { BenchReport, TargetReport } from './report/types.js';
import { runBench } from './run.js';

/**
 * `npm run bench:paper`: the paper's Table 7 setting, measured in one run against the calibrated
 * emulator (SIMULATED GPU), for each profile and description length:
 *   direct-as-text   SGLang fed text (it tokenizes, serially)
 *   direct-as-ids    SGLang fed token ids
 *   scorecar cold    text through scorecar, its token caches flushed before every step
 *   scorecar warm    text through scorecar after every item has been seen once
 *   scorecar → MIS   scorecar warm, in front of the emulator in multi-item mode (--mis)
 *   scorecar → patched  scorecar warm, in front of the emulator as a patched SGLang (exact-prefix
 *                    packs, patches/)
 * plus scorecar / direct-as-text, scorecar / direct-as-ids (the gain scorecar itself adds) and
 * scorecar's own CPU per 1,000 items. Eighteen SLO searches of about 40 s each.
 */
const OUT = '.bench-out';
const SEARCH_SECONDS = 40;

interface Column {
  name: string;
  via: 'direct' | 'scorecar';
  kind: 'text' | 'ids';
  /** warm: every item sent once first; cold: scorecar's token caches flushed before every step. */
  caches: 'warm' | 'cold' | null;
  /** The emulator's mode: stock single-item, multi-item scoring, or patched (exact prefix). */
  emulator: EmulatorMode;
}

type EmulatorMode = 'single' | 'mis' | 'patched';
const EMULATOR_ARGS: Record<EmulatorMode, string[]> = { single: [], mis: ['--mis'], patched: ['--patched'] };

const COLUMNS: Column[] = [
  { name: 'direct-as-text', via: 'direct', kind: 'text', caches: null, emulator: 'single' },
  { name: 'direct-as-ids', via: 'direct', kind: 'ids', caches: null, emulator: 'single' },
  { name: 'scorecar-cold', via: 'scorecar', kind: 'text', caches: 'cold', emulator: 'single' },
  { name: 'scorecar-warm', via: 'scorecar', kind: 'text', caches: 'warm', emulator: 'single' },
  { name: 'scorecar-warm-mis', via: 'scorecar', kind: 'text', caches: 'warm', emulator: 'mis' },
  { name: 'scorecar-warm-patched', via: 'scorecar', kind: 'text', caches: 'warm', emulator: 'patched' },
];

interface Cell {
  itemsPerSecond: number | null;
  cpuMsPer1kItems: number | null;
  /** Share of the best step's items that scorecar had never seen (how cold "cold" was). */
  newItemShare: number | null;
  report: BenchReport;
}

/** Mean prompt tokens of the bench corpus per mode (bench/README.md, measured with the tokenizer). */
const MEAN_PROMPT: Record<string, number> = { full: 905, summarized: 216 };

/**
 * Where to start each search: the GPU-bound capacity the cost model implies (full prefill steps)
 * for id columns, Table 7 for text columns (tokenizer-bound there), so a search converges in
 * its ~40 s instead of spending them climbing.
 */
function expectedItemsPerSecond(c: Table7Case, col: Column): number {
  if (col.kind === 'text' && col.via === 'direct') return c.itemsPerSecond;
  const cost = profileCost(c.profile)!;
  void PROFILE_SHAPES;
  const len = MEAN_PROMPT[c.corpus] as number;
  const seqs = cost.chunkedPrefillSize / len;
  const stepUs = cost.stepLaunchUs + cost.chunkedPrefillSize * cost.perTokenUs + seqs * causalPairs(len) * cost.attnUs + seqs * cost.perSeqUs;
  const gpu = (seqs / stepUs) * 1e6;
  // SGLang's serial front end caps id requests too (10 items per request; a saturated server has
  // many requests in flight).
  const front = (10 / frontEndCostUs(cost, col.emulator === 'single' ? 10 : 1, 10 * len, 64)) * 1e6;
  return Math.min(col.emulator === 'single' ? gpu : 2 * gpu, front);
}

async function measure(c: Table7Case, col: Column, emulatorUrl: string, scorecar: Child | null): Promise<Cell> {
  const url = col.via === 'direct' ? emulatorUrl : (scorecar as Child).url;
  const args = [
    '--target', `${col.name}:${col.kind}=${url}`,
    '--corpus', c.corpus,
    // A corpus large enough that the cold column keeps meeting new postings during its search.
    '--jobs', c.corpus === 'full' ? '1200' : '3000',
    '--queries', '300',
    '--start-rps', String(Math.max(2, +((0.55 * expectedItemsPerSecond(c, col)) / 10).toFixed(1))),
    '--growth', '1.4', '--tolerance', '0.08',
    '--step-seconds', '3.5', '--warmup-seconds', '0.75',
    '--max-seconds', String(SEARCH_SECONDS), '--simulated',
    ...(col.caches === 'warm' ? ['--prewarm'] : []),
    ...(col.caches === 'cold' ? ['--flush-url', `${url}/scorecar/cache/flush`] : []),
    ...(col.via === 'scorecar' ? ['--metrics-url', `${url}/metrics`] : []),
  ];
  const parsed = parseBenchArgs(args);
  if (parsed === 'help') throw new Error('unexpected help');
  const report = await runBench(parsed.config, (l) => process.stderr.write(`    ${l}\n`));
  const t = report.targets[0] as TargetReport;
  const best = t.steps.filter((s) => s.pass).sort((a, b) => b.achievedRps - a.achievedRps)[0];
  const m = best?.scorecar && !('error' in best.scorecar) ? best.scorecar : null;
  return {
    itemsPerSecond: t.bestItemsPerSecond,
    // µs per item x 1,000 items / 1,000 µs per ms: the same number, read as ms per 1k items.
    cpuMsPer1kItems: m?.cpuMicrosPerItem != null ? m.cpuMicrosPerItem : null,
    newItemShare: best && best.scheduled > 0 ? best.firstSeenItems / (best.scheduled * 10) : null,
    report,
  };
}

function fmt(v: number | null, digits = 0): string {
  return v === null ? '—' : v.toFixed(digits);
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const started = Date.now();
  const lines: string[] = [
    '',
    '# Table 7, reproduced against the emulator (SIMULATED: a cost model of one H100, not a GPU)',
    '',
    'items/s at p95 <= 500 ms, 10-item requests, Poisson arrivals; emulator in single-item mode, as SGLang 0.4.6 was, except',
    'the last two columns: scorecar (warm) in front of the emulator in multi-item mode (`--mis`) and as a patched SGLang',
    '(`--patched`: exact-prefix packs, patches/). The cost model charges SGLang\'s serial front end for id requests too',
    '(bench/results/sglang-serial-cost.md). scorecar runs with its score cache off (caching is measured separately).',
    '',
    '| setup | Table 7 | direct-as-text | direct-as-ids | scorecar cold (new items) | scorecar warm | warm / direct-as-text | warm / direct-as-ids | scorecar → MIS | scorecar → patched | scorecar CPU ms per 1k items (cold / warm) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of TABLE7) {
    process.stderr.write(`\n${c.label}\n`);
    const cells: Cell[] = [];
    for (const col of COLUMNS) {
      process.stderr.write(`  ${col.name}\n`);
      // A fresh emulator and scorecar per column: "cold" really starts empty, no column inherits a queue.
      const emu = await startEmulator(['--profile', c.profile, ...EMULATOR_ARGS[col.emulator]]);
      try {
        const sc = col.via === 'scorecar' ? await startScorecar(emu.url, ['--score-cache', 'off']) : null;
        try {
          cells.push(await measure(c, col, emu.url, sc));
        } finally {
          await sc?.stop();
        }
      } finally {
        await emu.stop();
      }
    }
    const [text, ids, cold, warm, mis, patched] = cells as [Cell, Cell, Cell, Cell, Cell, Cell];
    const ratio = (a: Cell, b: Cell): string =>
      a.itemsPerSecond !== null && b.itemsPerSecond ? (a.itemsPerSecond / b.itemsPerSecond).toFixed(2) + 'x' : '—';
    lines.push(
      `| ${c.label} | ${c.itemsPerSecond} | ${fmt(text.itemsPerSecond)} | ${fmt(ids.itemsPerSecond)} | ${fmt(cold.itemsPerSecond)} (${cold.newItemShare === null ? '—' : (cold.newItemShare * 100).toFixed(0) + '%'}) | ${fmt(warm.itemsPerSecond)} | ${ratio(warm, text)} | ${ratio(warm, ids)} | ${fmt(mis.itemsPerSecond)} | ${fmt(patched.itemsPerSecond)} | ${fmt(cold.cpuMsPer1kItems, 1)} / ${fmt(warm.cpuMsPer1kItems, 1)} |`,
    );
    // One report per setup with a line per column, for the SVG people read.
    const merged: BenchReport = { ...text.report, name: `Table 7: ${c.label} (simulated)`, targets: cells.map((x) => x.report.targets[0] as TargetReport) };
    const slug = `${c.profile}-${c.corpus}`;
    await writeFile(join(OUT, `paper-${slug}.json`), renderJson(merged));
    await writeFile(join(OUT, `paper-${slug}.svg`), renderSvg(merged));
  }
  lines.push('', `(${((Date.now() - started) / 1000).toFixed(0)} s; reports and SVG charts in ${OUT}/paper-*.{json,svg})`, '');
  const table = lines.join('\n');
  await writeFile(join(OUT, 'paper.md'), table);
  process.stdout.write(table);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:paper: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
