import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type BurstConfig, burstConfigError } from './loadgen/arrivals.js';
import { parseTargetSpec, targetKinds } from './loadgen/targets/registry.js';
import { renderJson } from './report/json.js';
import { renderMarkdown, renderSummary } from './report/markdown.js';
import { DEFAULT_METRIC_NAMES, type MetricKey, type MetricNames } from './report/scrape.js';
import { renderSvg } from './report/svg.js';
import { type BenchConfig, runBench } from './run.js';
import { DEFAULT_NAVIGATION } from './workload/requests.js';

const USAGE = `usage: scorecar bench --target [label:]kind=URL [--target ...] [options]

Finds, per target, the highest Poisson request rate whose p95 latency (from the scheduled send
time) stays within the SLO, with requests of one query + N job postings.

targets (kinds: KINDS):
  --target [label:]kind=URL   e.g. direct:text=http://127.0.0.1:30000 or scorecar:ids=http://127.0.0.1:30001
                              text: /v1/score with text prompts; ids: with Qwen3 token ids
search:
  --slo-ms N            latency SLO in ms (500)          --percentile 50|90|95|99 (95)
  --max-error-rate F    errors+timeouts allowed (0.01)    --timeout-ms N (max(1000, 4 x SLO))
  --start-rps F (4)     --growth F (2; 3 with --quick)    --tolerance F (0.05; 0.2 with --quick)
  --min-rps F (0.5)     --max-rps F (10000)               --max-steps N (30)
  --step-seconds F      measured window per step (10; 2 with --quick)
  --warmup-seconds F    unmeasured lead-in per step (2; 0.5 with --quick)
  --cooldown-ms N       pause after a failing step (200; 100 with --quick)
  --settle-max-ms N     after a failing step, wait at most this long for the target to drain
                        its backlog (probe requests until one is fast again; 3 x timeout)
  --max-seconds F       bound on the whole run (600; 55 with --quick)
  --quick               coarse search that finishes in under a minute
arrivals and workload:
  --bursty              on/off modulated Poisson arrivals with the same mean rate
  --burst-ratio F (3)   --burst-on-seconds F (1)          --burst-off-seconds F (4)
  --items-per-request N (10)    --corpus full|summarized (summarized)
  --jobs N (1000; 300 quick)    --queries N (500; 200 quick)    --seed N (1)
  --navigation          searchers come back to a query for the next page (score-cache workload)
  --revisit-probability F (0.5) --revisit-seconds F (90)
  --family-affinity F   share of a request's items from the query's job family (0.7)
  --connections N (256) --api-key KEY
scorecar metrics:
  --metrics-url URL     scrape this Prometheus /metrics before and after every step
  --metric-name key=NAME[,NAME]  metric names to try for one figure (keys: KEYS)
reports:
  --name TEXT  --json FILE  --md FILE  --svg FILE
  --simulated           label every report as simulated (required against the emulator)
  --cache-state cold|warm   label of the token caches' state (warm with --prewarm, else cold)
  --prewarm             send every corpus item once through each target first
`;

class UsageError extends Error {}

const OPTIONS = {
  target: { type: 'string', multiple: true },
  name: { type: 'string' },
  quick: { type: 'boolean' },
  'max-seconds': { type: 'string' },
  'slo-ms': { type: 'string' },
  percentile: { type: 'string' },
  'max-error-rate': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'start-rps': { type: 'string' },
  growth: { type: 'string' },
  tolerance: { type: 'string' },
  'min-rps': { type: 'string' },
  'max-rps': { type: 'string' },
  'max-steps': { type: 'string' },
  'step-seconds': { type: 'string' },
  'warmup-seconds': { type: 'string' },
  'cooldown-ms': { type: 'string' },
  'settle-max-ms': { type: 'string' },
  bursty: { type: 'boolean' },
  'burst-ratio': { type: 'string' },
  'burst-on-seconds': { type: 'string' },
  'burst-off-seconds': { type: 'string' },
  'items-per-request': { type: 'string' },
  corpus: { type: 'string' },
  jobs: { type: 'string' },
  queries: { type: 'string' },
  seed: { type: 'string' },
  navigation: { type: 'boolean' },
  'revisit-probability': { type: 'string' },
  'revisit-seconds': { type: 'string' },
  'family-affinity': { type: 'string' },
  connections: { type: 'string' },
  'api-key': { type: 'string' },
  'metrics-url': { type: 'string' },
  'metric-name': { type: 'string', multiple: true },
  json: { type: 'string' },
  md: { type: 'string' },
  svg: { type: 'string' },
  simulated: { type: 'boolean' },
  'cache-state': { type: 'string' },
  prewarm: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

function number(v: Values, key: keyof Values, fallback: number, check: (n: number) => boolean, what: string): number {
  const raw = v[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new UsageError(`--${key} must be ${what}, got "${String(raw)}"`);
  }
  return n;
}

const positive = (n: number): boolean => n > 0;
const integer = (n: number): boolean => Number.isInteger(n) && n >= 1;
const fraction = (n: number): boolean => n >= 0 && n <= 1;

/** Output files of a run, beside the config. */
export interface BenchOutputs {
  json: string | null;
  md: string | null;
  svg: string | null;
}

/** Flags to a validated config; throws UsageError with a message for the user. */
export function parseBenchArgs(argv: string[]): { config: BenchConfig; outputs: BenchOutputs } | 'help' {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const quick = v.quick === true;
  const targets = (v.target ?? []).map((t) => {
    try {
      return parseTargetSpec(t);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  if (targets.length === 0) throw new UsageError('at least one --target is required');

  const sloMs = number(v, 'slo-ms', 500, positive, 'a positive number of ms');
  const percentile = number(v, 'percentile', 95, (n) => [50, 90, 95, 99].includes(n), 'one of 50, 90, 95, 99') as 50 | 90 | 95 | 99;
  const timeoutMs = number(v, 'timeout-ms', Math.max(1000, 4 * sloMs), (n) => n > sloMs, 'a number of ms above the SLO');

  let burst: BurstConfig | null = null;
  if (v.bursty) {
    burst = {
      ratio: number(v, 'burst-ratio', 3, (n) => n >= 1, 'a number >= 1'),
      onSeconds: number(v, 'burst-on-seconds', 1, positive, 'positive'),
      offSeconds: number(v, 'burst-off-seconds', 4, positive, 'positive'),
    };
    const err = burstConfigError(burst);
    if (err) throw new UsageError(err);
  } else if (v['burst-ratio'] !== undefined || v['burst-on-seconds'] !== undefined || v['burst-off-seconds'] !== undefined) {
    throw new UsageError('--burst-* options need --bursty');
  }

  const corpus = v.corpus ?? 'summarized';
  if (corpus !== 'full' && corpus !== 'summarized') throw new UsageError(`--corpus must be full or summarized, got "${corpus}"`);
  const cacheState = v['cache-state'] ?? (v.prewarm ? 'warm' : 'cold');
  if (cacheState !== 'cold' && cacheState !== 'warm') throw new UsageError(`--cache-state must be cold or warm, got "${cacheState}"`);

  const metricNames: MetricNames = { ...DEFAULT_METRIC_NAMES };
  for (const kv of v['metric-name'] ?? []) {
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    if (eq <= 0 || !(key in metricNames) || value === '') {
      throw new UsageError(`--metric-name expects key=NAME with key in ${Object.keys(metricNames).join(', ')}, got "${kv}"`);
    }
    if (key === 'backendLabel') metricNames.backendLabel = value;
    else metricNames[key as MetricKey] = value.split(',');
  }
  const metricsUrl = v['metrics-url'] ?? null;
  if (metricsUrl !== null && !URL.canParse(metricsUrl)) throw new UsageError(`--metrics-url "${metricsUrl}" is not a URL`);

  const minRps = number(v, 'min-rps', 0.5, positive, 'positive');
  const maxRps = number(v, 'max-rps', 10_000, (n) => n >= minRps, 'at least --min-rps');
  const config: BenchConfig = {
    name: v.name ?? `${corpus} x${targets.length}`,
    simulated: v.simulated === true,
    targets,
    sloMs,
    percentile,
    maxErrorRate: number(v, 'max-error-rate', 0.01, fraction, 'a fraction in [0, 1]'),
    startRps: number(v, 'start-rps', 4, positive, 'positive'),
    growth: number(v, 'growth', quick ? 3 : 2, (n) => n > 1, 'a factor > 1'),
    minRps,
    maxRps,
    tolerance: number(v, 'tolerance', quick ? 0.2 : 0.05, positive, 'positive'),
    maxSteps: number(v, 'max-steps', 30, integer, 'a positive integer'),
    warmupMs: number(v, 'warmup-seconds', quick ? 0.5 : 2, (n) => n >= 0, 'a number of seconds >= 0') * 1000,
    stepMs: number(v, 'step-seconds', quick ? 2 : 10, positive, 'a positive number of seconds') * 1000,
    timeoutMs,
    cooldownMs: number(v, 'cooldown-ms', quick ? 100 : 200, (n) => n >= 0, 'a number of ms >= 0'),
    settleMaxMs: number(v, 'settle-max-ms', 3 * timeoutMs, (n) => n >= 0, 'a number of ms >= 0'),
    maxSeconds: number(v, 'max-seconds', quick ? 55 : 600, positive, 'a positive number of seconds'),
    quick,
    burst,
    itemsPerRequest: number(v, 'items-per-request', 10, integer, 'a positive integer'),
    corpusMode: corpus,
    jobs: number(v, 'jobs', quick ? 300 : 1000, integer, 'a positive integer'),
    queries: number(v, 'queries', quick ? 200 : 500, integer, 'a positive integer'),
    seed: number(v, 'seed', 1, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer'),
    navigation: v.navigation
      ? {
          ...DEFAULT_NAVIGATION,
          revisitProbability: number(v, 'revisit-probability', DEFAULT_NAVIGATION.revisitProbability, fraction, 'a fraction in [0, 1]'),
          meanRevisitSeconds: number(v, 'revisit-seconds', DEFAULT_NAVIGATION.meanRevisitSeconds, positive, 'positive'),
        }
      : null,
    familyAffinity: number(v, 'family-affinity', 0.7, fraction, 'a fraction in [0, 1]'),
    connections: number(v, 'connections', 256, integer, 'a positive integer'),
    apiKey: v['api-key'] ?? null,
    metricsUrl,
    metricNames,
    tokenCacheState: cacheState,
    prewarm: v.prewarm === true,
  };
  if (config.itemsPerRequest > config.jobs) throw new UsageError('--items-per-request cannot exceed --jobs');
  return { config, outputs: { json: v.json ?? null, md: v.md ?? null, svg: v.svg ?? null } };
}

async function write(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/**
 * `scorecar bench` as a function: parses argv (without the command name), runs, writes the
 * requested reports, prints the summary table. Returns the exit code: 0 done, 1 the run
 * failed (e.g. a target did not answer its first request), 2 bad usage.
 */
export async function runBenchCli(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`scorecar bench: ${e.message}\n\n${usage()}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const { config, outputs } = parsed;
  try {
    const report = await runBench(config, (line) => process.stderr.write(`${line}\n`));
    if (outputs.json) await write(outputs.json, renderJson(report));
    if (outputs.md) await write(outputs.md, renderMarkdown(report));
    if (outputs.svg) await write(outputs.svg, renderSvg(report));
    process.stdout.write(renderSummary(report));
    return 0;
  } catch (e) {
    process.stderr.write(`scorecar bench: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(): string {
  return USAGE.replace('KINDS', targetKinds().join(', ')).replace('KEYS', Object.keys(DEFAULT_METRIC_NAMES).join(', '));
}
