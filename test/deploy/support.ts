import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast';

/** Repository root and the deploy folder, from this file's place in test/deploy/. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DOCKER = join(ROOT, 'docker');

/** One Dockerfile stage: its FROM image and its instructions up to the next FROM. */
export interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** Global ARGs (before the first FROM) with their default values, for FROM expansion. */
  args: Map<string, string | null>;
  stages: Stage[];
}

export function parseDockerfile(path: string): ParsedDockerfile {
  const text = readFileSync(path, 'utf8');
  const df = DockerfileParser.parse(text);
  const args = new Map<string, string | null>();
  for (const a of df.getInitialARGs()) {
    const p = a.getProperty();
    if (p) args.set(p.getName(), p.getValue());
  }
  const stages: Stage[] = [];
  for (const ins of df.getInstructions()) {
    if (ins.getKeyword() === 'FROM') {
      const raw = (ins.getArgumentsContent() ?? '').split(/\s+/);
      const image = (raw[0] ?? '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => args.get(v) ?? '');
      const as = raw.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image, name: as >= 0 ? (raw[as + 1] ?? null) : null, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return { args, stages };
}

export function finalStage(df: ParsedDockerfile): Stage {
  const last = df.stages[df.stages.length - 1];
  if (!last) throw new Error('Dockerfile has no FROM');
  return last;
}

/** The last instruction of a keyword in a stage (Docker uses the last ENTRYPOINT/CMD/HEALTHCHECK). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.getKeyword() === keyword).at(-1);
}

/** An exec-form (JSON array) instruction's words; throws for the shell form, which would put a shell in front of the program. */
export function execForm(ins: Instruction): string[] {
  const json = ins as JSONInstruction;
  if (typeof json.getOpeningBracket !== 'function' || json.getOpeningBracket() === null) {
    throw new Error(`${ins.getKeyword()} on line ${ins.getRange().start.line + 1} is not in exec form: ${ins.getRawArgumentsContent() ?? ''}`);
  }
  return json.getJSONStrings().map((s) => s.getJSONValue());
}

/** The ENV of a stage, in order (later assignments win). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions) {
    if (ins.getKeyword() !== 'ENV') continue;
    for (const p of (ins as unknown as { getProperties(): Array<{ getName(): string; getUnescapedValue(): string | null }> }).getProperties()) {
      env[p.getName()] = p.getUnescapedValue() ?? '';
    }
  }
  return env;
}

/** The HEALTHCHECK's CMD words (exec form) of a stage. */
export function healthcheckCommand(stage: Stage): string[] {
  const hc = lastOf(stage, 'HEALTHCHECK');
  if (!hc) throw new Error('no HEALTHCHECK');
  const raw = hc.getRawArgumentsContent() ?? '';
  const at = raw.search(/\bCMD\s+\[/);
  if (at < 0) throw new Error(`HEALTHCHECK is not CMD in exec form: ${raw}`);
  const words = JSON.parse(raw.slice(raw.indexOf('[', at)).replace(/\\\n/g, '')) as unknown;
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) throw new Error(`HEALTHCHECK CMD is not a string array: ${raw}`);
  return words as string[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '__pycache__', '.pytest_cache']);

/** Every file under a folder, recursively (not into node_modules, .git or dist), whose name matches. */
export function filesUnder(dir: string, match: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIP_DIRS.has(name)) out.push(...filesUnder(p, match));
    }
    else if (match.test(name)) out.push(p);
  }
  return out;
}

/** A program on PATH (or at the path an env var names), or null. */
export function findTool(name: string, envVar: string): string | null {
  const explicit = process.env[envVar];
  if (explicit) return existsSync(explicit) ? explicit : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Runs a program; returns its exit status and combined output (never throws on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number; output: string } {
  try {
    const output = execFileSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', input: opts.input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string; message: string };
    return { status: err.status ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}
