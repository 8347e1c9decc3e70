import { type CostParams, ZERO_COST } from '../emulator/cost-model.js';
import type { EmulatorOptions, MisMode } from '../emulator/options.js';
import { DEFAULT_EMULATOR_OPTIONS } from '../emulator/options.js';
import { profileCost, PROFILE_NAMES } from '../emulator/profiles.js';
import { type LogLevel, LOG_LEVELS } from '../observe/logger.js';
import { ConfigError, type OptionTable, resolveOptions } from './options.js';

export const EMULATE_OPTIONS = {
  host: { type: 'string', default: '127.0.0.1', help: 'address to listen on' },
  port: { type: 'int', default: 30000, min: 0, help: 'port (SGLang default 30000)' },
  mis: { type: 'bool', default: false, help: "multi-item scoring, today's flag (reports enable_mis)" },
  'mis-delimiter': { type: 'int', default: null, min: 0, help: 'multi-item scoring, the older flag (reports multi_item_scoring_delimiter)' },
  profile: { type: 'string', default: 'zero', help: `cost-model profile (${PROFILE_NAMES.join(', ')})` },
  cost: { type: 'list', default: [], help: 'override a cost parameter: name=value (e.g. stepLaunchUs=4000); setting a frontEnd* term makes the front end cost the same at any concurrency' },
  patched: { type: 'bool', default: false, help: 'act as a patched SGLang (patches/): advertise scorecar_patches and prefill token-id, apply_softmax, query-first requests as exact-prefix packs' },
  'api-key': { type: 'string', default: null, help: 'Bearer key required from clients' },
  'context-length': { type: 'int', default: DEFAULT_EMULATOR_OPTIONS.contextLength, min: 16, help: 'model context length' },
  'max-total-tokens': { type: 'int', default: DEFAULT_EMULATOR_OPTIONS.maxTotalTokens, min: 16, help: 'KV pool size (bounds max_req_input_len)' },
  'model-path': { type: 'string', default: DEFAULT_EMULATOR_OPTIONS.modelPath, help: 'model path reported' },
  'weight-version': { type: 'string', default: DEFAULT_EMULATOR_OPTIONS.weightVersion, help: "weight_version reported; any but 'default' also changes the modelled scores (a new rollout)" },
  'tokenizer-threads': { type: 'int', default: 1, min: 1, help: 'tokenizer worker threads' },
  'log-level': { type: 'string', default: 'info', choices: LOG_LEVELS, help: 'JSON log lines on stdout at this level and above' },
} as const satisfies OptionTable;

/** The cost parameters --cost can set: the scalar ones. */
const SETTABLE = Object.keys(ZERO_COST).filter((k) => !Array.isArray(ZERO_COST[k as keyof CostParams]));

function applyCostOverrides(base: CostParams, overrides: string[]): CostParams {
  const cost: CostParams = { ...base };
  for (const o of overrides) {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq) as keyof CostParams;
    if (eq < 0 || !SETTABLE.includes(key)) {
      throw new ConfigError(`--cost ${o}: expected name=value with name one of ${SETTABLE.join(', ')}`);
    }
    // A front-end term set by hand stands alone: the measured curve would contradict it.
    if (key.startsWith('frontEnd')) cost.frontEndCurve = [];
    const raw = o.slice(eq + 1);
    if (typeof ZERO_COST[key] === 'boolean') (cost as unknown as Record<string, unknown>)[key] = raw === 'true';
    else {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new ConfigError(`--cost ${o}: not a number`);
      (cost as unknown as Record<string, unknown>)[key] = n;
    }
  }
  return cost;
}

export function parseEmulateConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Partial<EmulatorOptions> & { help: boolean; logLevel?: LogLevel } {
  const { values: v } = resolveOptions(EMULATE_OPTIONS, argv, env);
  if (v.help) return { help: true };
  if (v.mis === true && v.misDelimiter !== null) throw new ConfigError('--mis and --mis-delimiter are two generations of one feature; pick one');
  const mis: MisMode = v.misDelimiter !== null ? { kind: 'delimiter', tokenId: v.misDelimiter as number } : v.mis ? { kind: 'enable_mis' } : { kind: 'off' };
  const profile = v.profile as string;
  const base = profileCost(profile);
  if (!base) throw new ConfigError(`--profile ${profile}: unknown; one of ${PROFILE_NAMES.join(', ')}`);
  return {
    help: false,
    host: v.host as string,
    port: v.port as number,
    mis,
    profile,
    cost: applyCostOverrides(base, v.cost as string[]),
    patched: v.patched as boolean,
    apiKey: v.apiKey as string | null,
    contextLength: v.contextLength as number,
    maxTotalTokens: v.maxTotalTokens as number,
    modelPath: v.modelPath as string,
    weightVersion: v.weightVersion as string,
    servedModelName: v.modelPath as string,
    tokenizerThreads: v.tokenizerThreads as number,
    logLevel: v.logLevel as LogLevel,
  };
}
