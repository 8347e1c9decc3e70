import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * One typed option table per command. Each option is settable as a flag (--max-items), an
 * environment variable (SCORECAR_MAX_ITEMS) or a key in a JSON file given by --config
 * (max_items or maxItems); flags win over env, env over the file, the file over defaults.
 * Values are validated once, here, with messages that name the flag.
 */
export type OptionType = 'string' | 'int' | 'number' | 'bool' | 'list';

export interface OptionSpec {
  type: OptionType;
  default: unknown;
  help: string;
  /** Inclusive lower bound for numbers. */
  min?: number;
  /** Allowed values for strings. */
  choices?: readonly string[];
}

export type OptionTable = Record<string, OptionSpec>;

export class ConfigError extends Error {}

function envName(flag: string): string {
  return `SCORECAR_${flag.replace(/-/g, '_').toUpperCase()}`;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function coerce(flag: string, spec: OptionSpec, raw: unknown, from: string): unknown {
  const where = `${from} --${flag}`;
  switch (spec.type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
      }
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${where}: must be >= ${spec.min}, got ${n}`);
      return n;
    }
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      return String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'string': {
      const s = String(raw);
      if (spec.choices && !spec.choices.includes(s)) {
        throw new ConfigError(`${where}: must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(s)}`);
      }
      return s;
    }
  }
}

/** Resolves a command's options from argv, env and an optional --config file. */
export function resolveOptions(
  table: OptionTable,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { values: Record<string, unknown>; positionals: string[] } {
  const parseOpts: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { config: { type: 'string' }, help: { type: 'boolean' } };
  for (const [flag, spec] of Object.entries(table)) {
    parseOpts[flag] = spec.type === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: spec.type === 'list' };
    if (spec.type === 'bool') parseOpts[`no-${flag}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: parseOpts, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const flags = parsed.values as Record<string, unknown>;
  let file: Record<string, unknown> = {};
  const configPath = (flags.config as string | undefined) ?? env.SCORECAR_CONFIG;
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`--config ${configPath}: ${(e as Error).message}`);
    }
  }
  const values: Record<string, unknown> = { help: flags.help === true };
  for (const [flag, spec] of Object.entries(table)) {
    const key = camel(flag);
    let v: unknown = spec.default;
    const fileKey = flag.replace(/-/g, '_');
    if (file[fileKey] !== undefined) v = coerce(flag, spec, file[fileKey], 'config file');
    else if (file[key] !== undefined) v = coerce(flag, spec, file[key], 'config file');
    const e = env[envName(flag)];
    if (e !== undefined) v = coerce(flag, spec, e, `env ${envName(flag)} /`);
    if (flags[flag] !== undefined) {
      const f = flags[flag];
      v = spec.type === 'list' ? (f as string[]).flatMap((x) => coerce(flag, spec, x, 'flag') as string[]) : coerce(flag, spec, f, 'flag');
    }
    if (spec.type === 'bool' && flags[`no-${flag}`] === true) v = false;
    values[key] = v;
  }
  return { values, positionals: parsed.positionals };
}

export function usage(command: string, table: OptionTable): string {
  const lines = [`usage: scorecar ${command} [options]`, ''];
  for (const [flag, spec] of Object.entries(table)) {
    const def = spec.default === null || spec.default === undefined ? '' : ` (default ${JSON.stringify(spec.default)})`;
    lines.push(`  --${flag}${spec.type === 'bool' ? '' : ' <' + spec.type + '>'}  ${spec.help}${def}  [${envName(flag)}]`);
  }
  lines.push('  --config <file>  JSON file with any of the options above  [SCORECAR_CONFIG]');
  return lines.join('\n');
}
