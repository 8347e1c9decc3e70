import { describeCpus } from './machine.js';
import type { ScorecarStepMetrics } from './scrape.js';
import type { BenchReport, TargetReport } from './types.js';

export const SIMULATED_NOTICE =
  'SIMULATED: measured against the SGLang emulator and its cost model, not a GPU. ' +
  'Compare these numbers only with other simulated runs.';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const num = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** The per-target summary table alone (what the CLI prints). */
export function renderSummary(r: BenchReport): string {
  return `${(r.simulated ? ['SIMULATED', ''] : []).concat(summaryTable(r)).join('\n')}\n`;
}

function summaryTable(r: BenchReport): string[] {
  const slo = `p${r.config.slo.percentile} <= ${r.config.slo.ms} ms`;
  const lines = [
    `| target | kind | max RPS at ${slo} | items/s | steps | stopped |`,
    '|---|---|---:|---:|---:|---|',
  ];
  for (const t of r.targets) {
    lines.push(
      `| ${cell(t.name)} | ${cell(t.kind)} | ${num(t.bestRps)} | ${num(t.bestItemsPerSecond)} | ${t.steps.length} | ${t.stopReason} |`,
    );
  }
  return lines;
}

function stepTable(t: TargetReport): string[] {
  const lines = [
    '| # | phase | offered RPS | achieved RPS | items/s | p50 ms | p90 ms | p95 ms | p99 ms | max ms | errors | timeouts | SLO |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of t.steps) {
    const l = s.latency;
    const verdict = s.pass ? 'pass' : `fail: ${s.failReasons.join('; ')}`;
    const lag = s.generatorLagging ? ' (generator lagging)' : '';
    lines.push(
      `| ${s.index} | ${s.phase} | ${num(s.offeredRps)} | ${num(s.achievedRps)} | ${num(s.itemsPerSecond)} | ` +
        `${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${s.errors} | ${s.timeouts} | ${cell(verdict + lag)} |`,
    );
  }
  return lines;
}

function metricsTable(t: TargetReport): string[] {
  const rows = t.steps.filter((s) => s.scorecar !== undefined);
  if (rows.length === 0) return [];
  const lines = [
    '',
    `scorecar's own cost per step (from its /metrics):`,
    '',
    '| # | offered RPS | GC ms / 10k items | event-loop utilisation | CPU s | CPU us / item | heap bytes / item | items from |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of rows) {
    const m = s.scorecar as ScorecarStepMetrics | { error: string };
    if ('error' in m) {
      lines.push(`| ${s.index} | ${num(s.offeredRps)} | ${cell(m.error)} | | | | | |`);
      continue;
    }
    lines.push(
      `| ${s.index} | ${num(s.offeredRps)} | ${num(m.gcPauseMsPer10kItems, 3)} | ${num(m.eventLoopUtilization, 3)} | ` +
        `${num(m.processCpuSeconds, 3)} | ${num(m.cpuMicrosPerItem, 1)} | ${num(m.heapBytesPerItem, 0)} | ${m.itemsSource} |`,
    );
  }
  const missing = new Set(rows.flatMap((s) => ('missing' in (s.scorecar as object) ? (s.scorecar as ScorecarStepMetrics).missing : [])));
  if (missing.size > 0) lines.push('', `Not exported by the target: ${[...missing].join(', ')} (see config.metrics.names).`);
  return lines;
}

/** The report as markdown: a summary table, then every step of every target. */
export function renderMarkdown(r: BenchReport): string {
  const c = r.config;
  const title = `# scorecar bench: ${r.name}${r.simulated ? ' (simulated)' : ''}`;
  const out: string[] = [title, ''];
  if (r.simulated) out.push(`> **${SIMULATED_NOTICE}**`, '');
  const w = r.workload;
  out.push(
    `- Run: ${r.createdAt}, ${r.durationSeconds.toFixed(1)} s; token caches: ${r.tokenCacheState}`,
    `- Machine: ${r.machine.hostname}, ${describeCpus(r.machine)}, Node ${r.machine.node} (${r.machine.platform} ${r.machine.arch})`,
    `- SLO: p${c.slo.percentile} <= ${c.slo.ms} ms from the scheduled send time, errors+timeouts <= ${(c.slo.maxErrorRate * 100).toFixed(1)}%`,
    `- Arrivals: open-loop ${c.arrivals.process}${c.arrivals.burst ? ` (burst ratio ${c.arrivals.burst.ratio}, on ${c.arrivals.burst.onSeconds} s / off ${c.arrivals.burst.offSeconds} s)` : ''}, ${c.itemsPerRequest} items per request, seed ${c.seed}`,
    `- Steps: ${c.search.warmupSeconds} s warm-up + ${c.search.stepSeconds} s measured, timeout ${c.search.timeoutMs} ms, growth x${c.search.growth}, tolerance ${(c.search.tolerance * 100).toFixed(0)}%${c.search.quick ? ' (quick)' : ''}`,
    `- Workload: ${w.mode} descriptions, ${w.stats.items} postings, ${w.stats.queries} queries, mean prompt ${w.stats.meanPromptTokens.toFixed(0)} tokens ` +
      `(prefix ${w.stats.meanPrefixTokens.toFixed(0)}, description ${w.stats.meanDescriptionTokens.toFixed(0)}), ${(w.stats.truncatedFraction * 100).toFixed(1)}% truncated` +
      `${w.navigation ? `, page navigation (revisit p=${w.navigation.revisitProbability}, mean ${w.navigation.meanRevisitSeconds} s)` : ''}`,
    '',
    '## Summary',
    '',
    ...summaryTable(r),
  );
  for (const t of r.targets) {
    out.push('', `## ${cell(t.name)}`, '', `\`${t.kind}\` ${t.url}`, '', ...stepTable(t), ...metricsTable(t));
  }
  if (r.notes.length > 0) out.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}
