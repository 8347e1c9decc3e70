import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type BurstConfig, burstConfigError } from './loadgen/arrivals.js';
import { type PriorityMix, priorityMixError } from './loadgen/priority-mix.js';
import { parseTargetSpec, targetKinds } from './loadgen/targets/registry.js';
import { renderJson } from './report/json.js';
import { renderMarkdown, renderSummary } from './report/markdown.js';
import { DEFAULT_METRIC_NAMES, type MetricKey, type MetricNames } from './report/scrape.js';
import { renderSvg } from './report/svg.js';
import { type OptionTable, resolveOptions } from '../src/config/options.js';
import { type BenchConfig, runBench } from './run.js';
import type { CorpusMode } from './workload/corpus.js';
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
priority classes (scorecar's traffic shaper):
  --nearline-share F    share of requests sent with x-scorecar-priority: nearline (off unless
                        given; with it, every request carries its class, the SLO applies to
                        online latency and errors/timeouts count both classes)
  --nearline-timeout-ms N   client timeout of nearline requests, their latency bound (10000)
  --online-deadline-ms N, --nearline-deadline-ms N   x-scorecar-deadline-ms sent per class (none)
  --connections N (256) --api-key KEY
scorecar metrics:
  --metrics-url URL     scrape this Prometheus /metrics before and after every step
  --metric-name key=NAME  a metric name to try for one figure, repeatable (keys: KEYS)
reports:
  --name TEXT  --json FILE  --md FILE  --svg FILE
  --simulated           label every report as simulated (automatic when a target's
                        /server_info says it is the scorecar emulator)
  --cache-state cold|warm   label of the token caches' state (warm with --prewarm, else cold)
  --prewarm             send every corpus item once through each target first
  --flush-url URL       POST this URL before every step (e.g. scorecar's /scorecar/cache/flush), so
                        each step starts with cold caches

Every option is also an environment variable (--slo-ms: SCORECAR_SLO_MS; lists comma-separated)
and a key of a JSON file given with --config FILE; flags win over env, env over the file.
`;

class UsageError extends Error {}

/**
 * The option table, in the project's shared form (src/config/options.ts): every flag is also a
 * SCORECAR_* environment variable and a key of a --config JSON file. A null default means "depends
 * on --quick" or "derived from another option" and is filled in below.
 */
const OPTIONS: OptionTable = {
  target: { type: 'list', default: [], help: '[label:]kind=URL (repeatable)' },
  name: { type: 'string', default: null, help: 'report title' },
  quick: { type: 'bool', default: false, help: 'coarse search that finishes in under a minute' },
  'max-seconds': { type: 'number', default: null, help: 'bound on the whole run', min: 1 },
  'slo-ms': { type: 'number', default: 500, help: 'latency SLO', min: 0 },
  percentile: { type: 'string', default: '95', help: 'SLO percentile', choices: ['50', '90', '95', '99'] },
  'max-error-rate': { type: 'number', default: 0.01, help: 'errors+timeouts allowed', min: 0 },
  'timeout-ms': { type: 'number', default: null, help: 'per-request timeout', min: 1 },
  'start-rps': { type: 'number', default: 4, help: 'first rate', min: 0 },
  growth: { type: 'number', default: null, help: 'factor between probe rates', min: 1 },
  tolerance: { type: 'number', default: null, help: 'bisection stops within this ratio', min: 0 },
  'min-rps': { type: 'number', default: 0.5, help: 'lowest rate tried', min: 0 },
  'max-rps': { type: 'number', default: 10_000, help: 'highest rate tried', min: 0 },
  'max-steps': { type: 'int', default: 30, help: 'steps per target', min: 1 },
  'step-seconds': { type: 'number', default: null, help: 'measured window per step', min: 0 },
  'warmup-seconds': { type: 'number', default: null, help: 'unmeasured lead-in per step', min: 0 },
  'cooldown-ms': { type: 'number', default: null, help: 'pause after a failing step', min: 0 },
  'settle-max-ms': { type: 'number', default: null, help: 'bound on waiting for a drained target', min: 0 },
  bursty: { type: 'bool', default: false, help: 'on/off modulated arrivals' },
  'burst-ratio': { type: 'number', default: null, help: 'on-period rate / mean rate', min: 1 },
  'burst-on-seconds': { type: 'number', default: null, help: 'on-period length', min: 0 },
  'burst-off-seconds': { type: 'number', default: null, help: 'off-period length', min: 0 },
  'items-per-request': { type: 'int', default: 10, help: 'items per request', min: 1 },
  corpus: { type: 'string', default: 'summarized', help: 'description mode', choices: ['full', 'summarized'] },
  jobs: { type: 'int', default: null, help: 'postings in the corpus', min: 1 },
  queries: { type: 'int', default: null, help: 'queries in the corpus', min: 1 },
  seed: { type: 'int', default: 1, help: 'seed of arrivals, corpus and request mix', min: 0 },
  navigation: { type: 'bool', default: false, help: 'page-navigation revisits' },
  'revisit-probability': { type: 'number', default: DEFAULT_NAVIGATION.revisitProbability, help: 'chance of a next page', min: 0 },
  'revisit-seconds': { type: 'number', default: DEFAULT_NAVIGATION.meanRevisitSeconds, help: 'mean delay to the next page', min: 0 },
  'family-affinity': { type: 'number', default: 0.7, help: "share of items from the query's job family", min: 0 },
  'nearline-share': { type: 'number', default: null, help: 'share of requests sent as nearline', min: 0 },
  'nearline-timeout-ms': { type: 'number', default: null, help: 'client timeout of nearline requests', min: 1 },
  'online-deadline-ms': { type: 'number', default: null, help: 'x-scorecar-deadline-ms of online requests', min: 1 },
  'nearline-deadline-ms': { type: 'number', default: null, help: 'x-scorecar-deadline-ms of nearline requests', min: 1 },
  connections: { type: 'int', default: 256, help: 'HTTP connections per target', min: 1 },
  'api-key': { type: 'string', default: null, help: 'Bearer key sent to targets' },
  'metrics-url': { type: 'string', default: null, help: "scorecar's /metrics to scrape around each step" },
  'metric-name': { type: 'list', default: [], help: 'key=NAME metric name candidates (repeatable)' },
  json: { type: 'string', default: null, help: 'write the JSON report here' },
  md: { type: 'string', default: null, help: 'write the markdown report here' },
  svg: { type: 'string', default: null, help: 'write the SVG chart here' },
  simulated: { type: 'bool', default: false, help: 'label the reports as simulated' },
  'cache-state': { type: 'string', default: null, help: 'token-cache label', choices: ['cold', 'warm'] },
  prewarm: { type: 'bool', default: false, help: 'send every corpus item once first' },
  'flush-url': { type: 'string', default: null, help: 'POST this URL before every step (cold caches per step)' },
};

/** Output files of a run, beside the config. */
export interface BenchOutputs {
  json: string | null;
  md: string | null;
  svg: string | null;
}

/**
 * Flags (then SCORECAR_* env, then --config file) to a validated config; throws UsageError with
 * a message for the user. `env` is injectable for tests.
 */
export function parseBenchArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { config: BenchConfig; outputs: BenchOutputs } | 'help' {
  let resolved: ReturnType<typeof resolveOptions>;
  try {
    resolved = resolveOptions(OPTIONS, argv, env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (resolved.positionals.length > 0) throw new UsageError(`unexpected argument "${resolved.positionals[0]}"`);
  const v = resolved.values;
  if (v.help === true) return 'help';
  const quick = v.quick === true;
  const num = (key: string, fallback: number): number => (v[key] === null ? fallback : (v[key] as number));
  const str = (key: string): string | null => v[key] as string | null;
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new UsageError(message);
  };

  const targets = (v.target as string[]).map((t) => {
    try {
      return parseTargetSpec(t);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  check(targets.length > 0, 'at least one --target is required');

  const sloMs = num('sloMs', 500);
  check(sloMs > 0, '--slo-ms must be > 0');
  const timeoutMs = num('timeoutMs', Math.max(1000, 4 * sloMs));
  check(timeoutMs > sloMs, `--timeout-ms must be above the SLO (${sloMs} ms), or timeouts would hide latency`);

  let burst: BurstConfig | null = null;
  if (v.bursty === true) {
    burst = { ratio: num('burstRatio', 3), onSeconds: num('burstOnSeconds', 1), offSeconds: num('burstOffSeconds', 4) };
    const err = burstConfigError(burst);
    if (err) throw new UsageError(err);
  } else {
    check(v.burstRatio === null && v.burstOnSeconds === null && v.burstOffSeconds === null, '--burst-* options need --bursty');
  }

  let priorityMix: PriorityMix | null = null;
  if (v.nearlineShare !== null) {
    priorityMix = {
      nearlineShare: v.nearlineShare as number,
      nearlineTimeoutMs: num('nearlineTimeoutMs', 10_000),
      onlineDeadlineMs: v.onlineDeadlineMs as number | null,
      nearlineDeadlineMs: v.nearlineDeadlineMs as number | null,
    };
    const err = priorityMixError(priorityMix);
    if (err) throw new UsageError(`--nearline-share: ${err}`);
  } else {
    check(
      v.nearlineTimeoutMs === null && v.onlineDeadlineMs === null && v.nearlineDeadlineMs === null,
      '--nearline-timeout-ms and --online/--nearline-deadline-ms need --nearline-share',
    );
  }

  const metricNames: MetricNames = { ...DEFAULT_METRIC_NAMES };
  const overridden = new Set<string>();
  for (const kv of v.metricName as string[]) {
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq);
    const value = kv.slice(eq + 1);
    check(
      eq > 0 && key in metricNames && value !== '',
      `--metric-name expects key=NAME with key in ${Object.keys(metricNames).join(', ')}, got "${kv}"`,
    );
    if (key === 'backendLabel') metricNames.backendLabel = value;
    else {
      // The first override of a key replaces the defaults; later ones add fallbacks.
      const k = key as MetricKey;
      metricNames[k] = overridden.has(k) ? [...metricNames[k], value] : [value];
      overridden.add(k);
    }
  }
  const metricsUrl = str('metricsUrl');
  check(metricsUrl === null || URL.canParse(metricsUrl), `--metrics-url "${metricsUrl}" is not a URL`);

  const fractions = ['maxErrorRate', 'revisitProbability', 'familyAffinity'];
  for (const f of fractions) check((v[f] as number) <= 1, `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be in [0, 1]`);
  const positives = ['startRps', 'minRps', 'maxRps'];
  for (const f of positives) check((v[f] as number) > 0, `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be > 0`);
  const minRps = v.minRps as number;
  const maxRps = v.maxRps as number;
  check(maxRps >= minRps, '--max-rps must be at least --min-rps');
  const growth = num('growth', quick ? 3 : 2);
  check(growth > 1, '--growth must be > 1');
  const tolerance = num('tolerance', quick ? 0.2 : 0.05);
  check(tolerance > 0, '--tolerance must be > 0');
  const stepMs = num('stepSeconds', quick ? 2 : 10) * 1000;
  check(stepMs > 0, '--step-seconds must be > 0');
  const corpusMode = v.corpus as CorpusMode;
  const cacheState = (str('cacheState') ?? (v.prewarm === true ? 'warm' : 'cold')) as 'cold' | 'warm';

  const config: BenchConfig = {
    name: str('name') ?? `${corpusMode} x${targets.length}`,
    simulated: v.simulated === true,
    targets,
    sloMs,
    percentile: Number(v.percentile) as 50 | 90 | 95 | 99,
    maxErrorRate: v.maxErrorRate as number,
    startRps: v.startRps as number,
    growth,
    minRps,
    maxRps,
    tolerance,
    maxSteps: v.maxSteps as number,
    warmupMs: num('warmupSeconds', quick ? 0.5 : 2) * 1000,
    stepMs,
    timeoutMs,
    cooldownMs: num('cooldownMs', quick ? 100 : 200),
    settleMaxMs: num('settleMaxMs', 3 * timeoutMs),
    maxSeconds: num('maxSeconds', quick ? 55 : 600),
    quick,
    burst,
    itemsPerRequest: v.itemsPerRequest as number,
    corpusMode,
    jobs: num('jobs', quick ? 300 : 1000),
    queries: num('queries', quick ? 200 : 500),
    seed: v.seed as number,
    navigation:
      v.navigation === true
        ? {
            ...DEFAULT_NAVIGATION,
            revisitProbability: v.revisitProbability as number,
            meanRevisitSeconds: v.revisitSeconds as number,
          }
        : null,
    familyAffinity: v.familyAffinity as number,
    priorityMix,
    connections: v.connections as number,
    apiKey: str('apiKey'),
    metricsUrl,
    metricNames,
    tokenCacheState: cacheState,
    prewarm: v.prewarm === true,
    flushUrl: str('flushUrl'),
  };
  check(config.itemsPerRequest <= config.jobs, '--items-per-request cannot exceed --jobs');
  return { config, outputs: { json: str('json'), md: str('md'), svg: str('svg') } };
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
    process.stderr.write(`scorecar bench: ${e.message} (see scorecar bench --help)\n`);
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
